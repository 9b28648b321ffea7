"""Chat with the assistant from a terminal as a WhatsApp customer, through the signed Twilio webhook."""
from __future__ import annotations

import argparse
import sys
import threading

try:
    import readline  # noqa: F401  (line editing and history for input())
except ImportError:  # pragma: no cover - not on Linux
    readline = None

import _webhook as wh

PROMPT = "you> "
INDENT = " " * len("bot> ")
HINTS = {
    403: f"is --token the tenant's Twilio auth token (demo: {wh.DEMO_AUTH_TOKEN})? When the channel has "
         "WHATSAPP_PUBLIC_URL, pass the same --public-url.",
    404: f"is --to a merchant's number (demo shop: {wh.DEFAULT_TO}, `make seed` creates it), and the "
         "whatsapp channel in credentials.yml?",
    503: "rasa could not reach the backend: is it running? (`make status`)",
}


def format_message(message: dict) -> str:
    """A recorded reply as 'bot> ' lines, continuation lines indented, media after the text."""
    lines = str(message.get("body") or "").splitlines() or [""]
    out = ["bot> " + lines[0]] + [INDENT + line for line in lines[1:]]
    if message.get("media_url"):
        out.append(INDENT + "[media] " + str(message["media_url"]))
    return "\n".join(out)


def describe_failure(result: wh.TurnResult) -> str:
    """What went wrong with a webhook post, with a hint when the status suggests one."""
    text = f"! webhook answered {result.error}" if result.status else f"! {result.error}"
    hint = HINTS.get(result.status or 0)
    if hint is None and (result.status or 0) >= 500:
        hint = "rasa failed while processing the turn: see the rasa server's log"
    return text + (f"\n  {hint}" if hint else "")


class Chat:
    """One customer's conversation: sends turns and prints what the bot sends back."""

    def __init__(self, client: wh.WebhookClient, phone: str, name: str, wait: float, quiet: float):
        self.client, self.phone, self.name = client, phone, name
        self.wait, self.quiet = wait, quiet
        self.lock = threading.Lock()
        self.after = client.last_message_id(phone)  # skip the history: show only what comes next

    def say(self, text: str) -> bool:
        """Send one message and print the replies; False when the turn failed or got no reply."""
        with self.lock:
            self._print(self.client.fetch_messages(self.phone, self.after))  # late or proactive messages
            result = self.client.post_message(self.phone, text, self.name)
            if not result.ok:
                print(describe_failure(result), file=sys.stderr, flush=True)
                return False
            replies = self.client.wait_for_replies(self.phone, self.after, first_timeout=self.wait,
                                                   quiet=self.quiet)
            self._print(replies.messages)
            if not replies.messages:
                print(f"! no reply within {self.wait:g} s: is the worker running? (`make up` starts it)",
                      file=sys.stderr, flush=True)
            return bool(replies.messages)

    def catch_up(self) -> list[dict]:
        """Messages that arrived outside a turn (payment confirmations, reminders); [] while a turn runs."""
        if not self.lock.acquire(blocking=False):
            return []
        try:
            messages = self.client.fetch_messages(self.phone, self.after)
            if messages:
                self.after = messages[-1]["id"]
            return messages
        finally:
            self.lock.release()

    def _print(self, messages: list[dict]) -> None:
        for message in messages:
            print(format_message(message), flush=True)
            self.after = message["id"]


def follow(chat: Chat, stop: threading.Event, every: float = 1.0) -> None:
    """Background loop: print unsolicited messages above the prompt, keeping what is being typed."""
    while not stop.wait(every):
        try:
            messages = chat.catch_up()
        except wh.StackError:
            continue  # the next turn reports it
        if messages:
            typed = readline.get_line_buffer() if readline else ""
            text = "\n".join(format_message(m) for m in messages)
            sys.stdout.write(f"\r\033[K{text}\n{PROMPT}{typed}")
            sys.stdout.flush()


def interactive(chat: Chat, args: argparse.Namespace) -> int:
    """Read lines until /quit, Ctrl-D or Ctrl-C."""
    print(f"Chatting as {chat.phone} ({chat.name}) with {chat.client.to} via {chat.client.webhook_url}\n"
          "Type /quit (or Ctrl-D) to leave.", flush=True)
    stop = threading.Event()
    if sys.stdin.isatty() and not args.no_follow:
        threading.Thread(target=follow, args=(chat, stop), daemon=True).start()
    try:
        while True:
            try:
                line = input(PROMPT).strip()
            except EOFError:
                print()
                return 0
            if line in ("/quit", "/exit"):
                return 0
            if line:
                try:
                    chat.say(line)
                except wh.StackError as exc:
                    print(f"! {exc}", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        print()
        return 0
    finally:
        stop.set()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Talk to the assistant as a WhatsApp customer: each line is posted to rasa's Twilio\n"
                    "webhook (signed as Twilio signs it) and the replies the worker delivers to the\n"
                    "backend's Twilio simulator are printed. Needs the stack running (`make up`).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               "  .venv/bin/python scripts/chat.py\n"
               "  .venv/bin/python scripts/chat.py --phone 0722000333 --name Otieno\n"
               "  .venv/bin/python scripts/chat.py --message 'niaje, mnauza nini?'")
    parser.add_argument("--phone", default=wh.DEFAULT_PHONE, type=wh.phone_argument,
                        help=f"the customer's number: 07…, 2547… or +2547… (default {wh.DEFAULT_PHONE})")
    parser.add_argument("--name", default="Wanjiku", help="the customer's WhatsApp ProfileName (default Wanjiku)")
    parser.add_argument("--message", "-m", help="send this one message, print the replies and exit "
                                                "(status 1 when the turn failed or got no reply)")
    parser.add_argument("--wait", type=float, default=15.0,
                        help="seconds to wait for the first reply (default 15)")
    parser.add_argument("--quiet-ms", type=int, default=400,
                        help="replies are complete after this long without a new one (default 400)")
    parser.add_argument("--no-follow", action="store_true",
                        help="interactive mode: do not print messages that arrive between turns")
    wh.add_stack_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = wh.Settings.load(args.rasa_url, args.backend_url)
        client = wh.WebhookClient(settings, args.token, args.to, public_url=args.public_url)
        chat = Chat(client, args.phone, args.name, args.wait, args.quiet_ms / 1000)
        if args.message is not None:
            return 0 if chat.say(args.message) else 1
        return interactive(chat, args)
    except wh.StackError as exc:
        print(f"chat: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print()
        return 130


if __name__ == "__main__":
    sys.exit(main())
