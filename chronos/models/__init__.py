"""SQLModel tables. Importing this package registers every table on SQLModel.metadata."""

from chronos.models.account import AccountToken, Invitation, SecurityEvent
from chronos.models.api_token import ApiToken
from chronos.models.automation import AutomationRule, AutomationRun
from chronos.models.base import (
    EXTERNAL_PARTICIPANT_ROLES,
    EXTERNAL_ROLES,
    LISTING_STAGES,
    STAFF_PARTICIPANT_ROLES,
    STAFF_ROLES,
    ParticipantRole,
    PropertyType,
    Role,
    Side,
    Stage,
    utcnow,
)
from chronos.models.calendar_feed import CalendarFeed
from chronos.models.document import (
    ComplianceTemplate,
    Document,
    DocumentSlot,
    DocumentVersion,
    FormTemplate,
    LenderCondition,
    SignatureRequest,
    SignatureSigner,
)
from chronos.models.email import EmailMessage
from chronos.models.event import Event
from chronos.models.idempotency import IdempotencyKey
from chronos.models.import_batch import ImportBatch, ImportRow
from chronos.models.key_date import DeadlineTemplate, KeyDate
from chronos.models.message import (
    EmailTemplate,
    Message,
    MessageThread,
    ThreadMember,
    ThreadRead,
    WebhookReceipt,
)
from chronos.models.notification import Notification, NotificationPreference
from chronos.models.organization import Organization
from chronos.models.person import Person
from chronos.models.task import ChecklistTemplate, Task
from chronos.models.transaction import Participant, Transaction
from chronos.models.user import User, UserSession
from chronos.models.webhook import WebhookDelivery, WebhookEvent, WebhookSubscription

__all__ = [
    "EXTERNAL_PARTICIPANT_ROLES",
    "EXTERNAL_ROLES",
    "LISTING_STAGES",
    "STAFF_PARTICIPANT_ROLES",
    "STAFF_ROLES",
    "AccountToken",
    "ApiToken",
    "AutomationRule",
    "AutomationRun",
    "CalendarFeed",
    "ChecklistTemplate",
    "ComplianceTemplate",
    "DeadlineTemplate",
    "Document",
    "DocumentSlot",
    "DocumentVersion",
    "EmailMessage",
    "EmailTemplate",
    "Event",
    "FormTemplate",
    "IdempotencyKey",
    "ImportBatch",
    "ImportRow",
    "Invitation",
    "KeyDate",
    "LenderCondition",
    "Message",
    "MessageThread",
    "Notification",
    "NotificationPreference",
    "Organization",
    "Participant",
    "ParticipantRole",
    "Person",
    "PropertyType",
    "Role",
    "SecurityEvent",
    "Side",
    "SignatureRequest",
    "SignatureSigner",
    "Stage",
    "Task",
    "ThreadMember",
    "ThreadRead",
    "Transaction",
    "User",
    "UserSession",
    "WebhookDelivery",
    "WebhookEvent",
    "WebhookReceipt",
    "WebhookSubscription",
    "utcnow",
]
