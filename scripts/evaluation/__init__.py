"""NLU evaluation (`make eval`): public sets and the held-out split, overlap check, scoring, reports.

Everything here except `parsing` is plain Python (PyYAML only), so the label mapping, the overlap
check and the scoring are tested without rasa; `parsing` needs rasa and runs in .venv-rasa.
"""
