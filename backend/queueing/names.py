"""The queues, and the jobs services enqueue by name, in one place.

A service names a job by the dotted path of its function in backend/jobs (the entry layer that
calls services), so no service imports a job: RQ stores the path, and a worker or the in-process
runner imports the function when it runs. The workers' queues (rq_settings), the health check
and /metrics read QUEUES from here.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT = "default"
MESSAGING = "messaging"
# The sandbox simulators' own work (the Twilio simulator's status callbacks, which Twilio itself
# sends in production): last, so it never delays the platform's.
SANDBOX = "sandbox"
# What a worker listens on, in order: a customer's reply goes before the rest.
QUEUES: tuple[str, ...] = (MESSAGING, DEFAULT, SANDBOX)


@dataclass(frozen=True)
class JobRef:
    """A job function in backend/jobs by its dotted path, and the queue it runs on."""

    path: str
    queue: str
    timeout: int | None = None  # seconds a worker lets it run (None: RQ's default, 180)


DELIVER_OUTBOUND = JobRef("backend.jobs.messaging.deliver_outbound", MESSAGING)
SEND_STK_PUSH = JobRef("backend.jobs.payments.send_stk_push", DEFAULT)
PROCESS_PAYMENT_EVENT = JobRef("backend.jobs.payments.process_event", DEFAULT)
NOTIFY_CUSTOMER = JobRef("backend.jobs.payments.notify_customer", DEFAULT)
PAY_WITHDRAWAL = JobRef("backend.jobs.payments.pay_withdrawal", DEFAULT)
SEND_REFUND = JobRef("backend.jobs.payments.send_refund", DEFAULT)
REBUILD_KB_INDEX = JobRef("backend.jobs.kb.rebuild_index", DEFAULT)
SUBMIT_TEMPLATE = JobRef("backend.jobs.messaging.submit_template", DEFAULT)
NOTIFY_EVENT = JobRef("backend.jobs.messaging.notify_event", DEFAULT)
START_CAMPAIGN = JobRef("backend.jobs.campaigns.start_campaign", DEFAULT)
SEND_CAMPAIGN_BATCH = JobRef("backend.jobs.campaigns.send_campaign_batch", DEFAULT)
CHARGE_INVOICE = JobRef("backend.jobs.billing.charge_invoice", DEFAULT)
SEND_RESET_CODE = JobRef("backend.jobs.accounts.send_reset_code", MESSAGING)
SEND_BILLING_REMINDER = JobRef("backend.jobs.billing.send_billing_reminder", DEFAULT)
NOTIFY_USAGE_WARNING = JobRef("backend.jobs.messaging.notify_usage_warning", DEFAULT)
FINISH_CARD_SETUP = JobRef("backend.jobs.billing.finish_card_setup", DEFAULT)
RUN_STORE_SYNC = JobRef("backend.jobs.integrations.run_store_sync", DEFAULT)
PUSH_STORE_STOCK = JobRef("backend.jobs.integrations.push_store_stock", DEFAULT)
# The NLU model registry: training and evaluating a candidate (tens of minutes on two cores), and
# swapping a model into every rasa server (a model load per server).
BUILD_NLU_MODEL = JobRef("backend.jobs.nlu.build_model", DEFAULT, timeout=4 * 3600)
PROMOTE_NLU_MODEL = JobRef("backend.jobs.nlu.promote_model", DEFAULT, timeout=3600)
# Every job a service enqueues (tests check each path names a job of backend/jobs).
ENQUEUED: tuple[JobRef, ...] = (DELIVER_OUTBOUND, SEND_STK_PUSH, PROCESS_PAYMENT_EVENT,
                                NOTIFY_CUSTOMER, PAY_WITHDRAWAL, SEND_REFUND, REBUILD_KB_INDEX,
                                SUBMIT_TEMPLATE,
                                NOTIFY_EVENT, START_CAMPAIGN, SEND_CAMPAIGN_BATCH, CHARGE_INVOICE,
                                SEND_BILLING_REMINDER, SEND_RESET_CODE, NOTIFY_USAGE_WARNING,
                                FINISH_CARD_SETUP, RUN_STORE_SYNC, PUSH_STORE_STOCK,
                                BUILD_NLU_MODEL, PROMOTE_NLU_MODEL)
