"""Base of our rule-based NLU components: nothing to train, entities added to each message."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData


class RuleExtractor(GraphComponent, EntityExtractorMixin):
    """Subclasses implement `process_message`; `add_entity` appends with the extractor name."""

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "RuleExtractor":
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self.process_message(message)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process_message(self, message: Message) -> None:
        raise NotImplementedError

    def add_entity(self, message: Message, entity: Dict[str, Any]) -> None:
        message.set(ENTITIES, message.get(ENTITIES, []) + self.add_extractor_name([entity]),
                    add_to_output=True)
