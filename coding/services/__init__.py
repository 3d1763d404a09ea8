"""All writes of the coding app. Import from here: ``from coding.services import study_open``."""

from .door import (
    ReasonRequired,
    Sealed,
    condition_access,
    condition_data_open,
)
from .errors import Conflict, ServiceError
from .events import event_record
from .items import (
    ImportRejected,
    ImportResult,
    content_sha256,
    items_import,
    items_import_file,
    items_import_records,
)
from .pairwise import pair_judgment_submit, pairs_create
from .reconciliation import (
    condition_keys_read,
    reconciliation_auto_agree,
    reconciliation_decide,
    study_lock,
    study_unblind,
)
from .rubrics import rubric_create_from_data, rubric_export, rubric_new_version
from .scoring import score_autosave, score_submit
from .scrub_rules import scrub_rule_add, scrub_rule_delete
from .studies import (
    assignments_extend,
    condition_key_read,
    membership_add,
    study_create,
    study_open,
)
from .tallies import tally_rebuild
from .uploads import (
    condition_keys_confirm,
    items_import_confirm,
    upload_discard,
    upload_stage,
)

__all__ = [
    "pair_judgment_submit",
    "pairs_create",
    "Conflict",
    "ReasonRequired",
    "Sealed",
    "condition_access",
    "condition_data_open",
    "ImportRejected",
    "ImportResult",
    "ServiceError",
    "assignments_extend",
    "condition_key_read",
    "content_sha256",
    "event_record",
    "items_import",
    "items_import_file",
    "items_import_records",
    "membership_add",
    "rubric_create_from_data",
    "rubric_export",
    "rubric_new_version",
    "score_autosave",
    "score_submit",
    "scrub_rule_add",
    "scrub_rule_delete",
    "study_create",
    "study_open",
    "reconciliation_auto_agree",
    "reconciliation_decide",
    "study_lock",
    "study_unblind",
    "condition_keys_read",
    "condition_keys_confirm",
    "items_import_confirm",
    "upload_discard",
    "upload_stage",
    "tally_rebuild",
]
