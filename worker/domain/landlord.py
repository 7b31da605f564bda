"""The landlord's profile: who they are, how residents reach them, and the Ombudsman's details.

Pure data; loaded and validated from TOML by ``worker.settings``. Nothing about a particular
landlord lives in code (SPEC section 5).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from worker.domain.retention import RetentionSchedule


@dataclass(frozen=True)
class Ombudsman:
    """The Housing Ombudsman's contact details; configured because they change over time."""

    name: str
    website: str
    phone: str
    email: str
    postal_address: str


@dataclass(frozen=True)
class Landlord:
    name: str
    short_name: str
    complaints_email: str
    enquiries_email: str
    phone: str
    postal_address: str
    website: str
    policy_url: str
    complaint_form_url: str
    ombudsman: Ombudsman
    # The nation whose bank holidays apply (england, wales, scotland, northern_ireland).
    nation: str = "england"
    # Extra days the office is closed (ISO dates), e.g. a Christmas closure.
    closure_days: tuple[str, ...] = ()
    # Named contacts for routing: building safety lead (policy page), complaints manager (4.1).
    building_safety_lead_name: str = ""
    building_safety_lead_email: str = ""
    complaints_team_name: str = "Complaints team"
    complaints_team_phone: str = ""
    homes_owned: int = 0
    # Services that are not the complaints process, and where residents should go instead.
    elsewhere: dict[str, str] = field(default_factory=dict)
    # How long each kind of record is kept after it ended (UK GDPR, SPEC section 10).
    retention: RetentionSchedule = field(default_factory=RetentionSchedule)
