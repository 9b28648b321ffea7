"""rasa-sdk's plugin entry point: `rasa run actions` imports this package, when it is importable,
and calls init_hooks; each hook implementation lives in actions/."""
import pluggy


def init_hooks(manager: pluggy.PluginManager) -> None:
    from actions import observability

    manager.register(observability)
