"""The conversation designers' simulator (/app/simulator, sandbox mode only): the phone view's
pages (`pages`), the debug view read from Rasa's tracker (`debug`), the test-story writer
(`stories`) and the simulated phone's M-Pesa prompts (`mpesa`)."""
