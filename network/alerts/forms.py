"""The alert forms. Choices come from the vocabulary and the platforms table."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    RadioField,
    SearchField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from network.alerts import vocab
from network.alerts.content import MAX_DESCRIPTION, MAX_NOTE, MAX_TITLE
from network.alerts.evidence import ACCEPT, MAX_FILE_BYTES, MAX_FILES
from network.alerts.platforms import YEAR_GROUPS, year_group_label
from network.alerts.steps import AGENCIES, MAX_DSL, MAX_REFERENCES
from network.alerts.vocab import InboxStatus, SendTo
from network.forms import MultiCheckboxField


def _choices(terms: tuple[vocab.Term, ...]) -> list[SelectChoice]:
    return [SelectChoice(t.code, t.label) for t in terms]


class PostAlertForm(FlaskForm):
    category = RadioField(
        "What is it about?", choices=_choices(vocab.CATEGORIES), validate_choice=False
    )
    severity = RadioField(
        "How serious is it?",
        choices=_choices(vocab.SEVERITIES),
        default="medium",
        validate_choice=False,
    )
    platform = SelectField("Platform", validate_choice=False)
    tlp = RadioField(
        "Handling label",
        choices=_choices(vocab.TLP),
        default="AMBER",
        validate_choice=False,
        description="Who the recipients may share it with (FIRST TLP 2.0).",
    )
    year_group = SelectField(
        "Year group (under-age use only)",
        choices=[
            SelectChoice("", "Not given"),
            *[SelectChoice(code, year_group_label(code)) for code in YEAR_GROUPS],
        ],
        validate_choice=False,
        description="The pupils' year group, never a pupil's name. You are warned if "
        "pupils of that year are under the platform's minimum age.",
    )
    title = StringField(
        "Title",
        validators=[
            Length(max=MAX_TITLE, message=f"The title must be at most {MAX_TITLE} characters.")
        ],
        description="A short summary a colleague can scan in the inbox.",
    )
    description = TextAreaField(
        "What happened",
        validators=[
            Length(
                max=MAX_DESCRIPTION,
                message=f"The description must be at most {MAX_DESCRIPTION:,} characters.",
            )
        ],
        description="Facts only. Avoid naming pupils unless needed.",
    )
    links = TextAreaField(
        "Links to the posts",
        validators=[Length(max=50_000, message="That is too many links.")],
        description="One per line, optionally followed by the date you saw it, e.g. "
        "https://example.com/post/123 2026-11-20",
    )
    accounts = TextAreaField(
        "Accounts (optional)",
        validators=[Length(max=10_000, message="That is too many accounts.")],
        description="The accounts posting, on the platform chosen above: one a line, "
        "like @name. Schools whose alerts name the same account are shown the match; "
        "the hub sees only that two alerts match, never the account.",
    )
    groups = TextAreaField(
        "Groups or pages (optional)",
        validators=[Length(max=10_000, message="That is too many groups.")],
        description="Names of groups or pages where it was posted, one a line.",
    )
    recommended_action = TextAreaField(
        "What you recommend other schools do",
        validators=[Length(max=MAX_NOTE, message=f"Write at most {MAX_NOTE:,} characters.")],
    )
    audience = RadioField(
        "Send to",
        choices=[
            SelectChoice(SendTo.SCHOOLS, "Chosen schools in my cluster"),
            SelectChoice(SendTo.CLUSTER, "Every school in my cluster"),
            SelectChoice(SendTo.HUB, "Every school on the hub, in every cluster"),
        ],
        default=SendTo.SCHOOLS,
        validate_choice=False,
    )
    schools = MultiCheckboxField(
        "Schools",
        validate_choice=False,
        description="Used when you send to chosen schools. Schools whose head has not "
        "joined yet cannot receive alerts and are not listed.",
    )
    tier = RadioField(
        "Who reads it at each school",
        choices=[
            SelectChoice(
                "",
                "The default: leadership for alerts about staff and for TLP:RED "
                "alerts, otherwise all staff",
            ),
            SelectChoice("all", "All staff"),
            SelectChoice("leadership", "Leadership only: the head and safeguarding leads"),
            SelectChoice("named", "Named people only: those you tick below"),
        ],
        default="",
        validate_choice=False,
    )
    named = MultiCheckboxField(
        "Named people (when you send to named people only)",
        validate_choice=False,
        description="The heads and safeguarding leads of the schools you can send to. Tick "
        "at least one at each school you send to: only they read it there, and at your "
        "school only you.",
    )
    subject_school = SelectField(
        "A member of a recipient school is the subject (optional)",
        validate_choice=False,
        description="That school receives it for its leadership only, whatever you chose above.",
    )
    include_coordinator = BooleanField(
        "Also send to the cluster coordinator",
        description="The coordinator sees only that alerts exist unless you add them here.",
    )
    # What was done, as the category's guidance asks: sealed with the alert.
    referred_to = MultiCheckboxField(
        "Referrals and steps taken (optional)",
        choices=_choices(AGENCIES),
        validate_choice=False,
        description="Tick each referral or step already taken "
        "(the list the referral tracker uses).",
    )
    references = StringField(
        "Reference numbers (optional)",
        validators=[Length(max=MAX_REFERENCES, message="Write at most 300 characters.")],
        description="The force's crime or incident number, the MASH's or LADO's reference, "
        "the platform's report number. Sealed with the alert: only the recipients read it.",
    )
    referred_on = DateField("When you referred it (optional)", validators=[Optional()])
    dsl_name = StringField(
        "Designated safeguarding lead (optional)",
        validators=[Length(max=MAX_DSL, message="Write at most 200 characters.")],
        description="The DSL dealing with it, named for the recipients (sealed).",
    )
    evidence = MultipleFileField(
        "Evidence (optional)",
        render_kw={"accept": ACCEPT},
        description=f"Screenshots (PNG, JPEG, WebP) or PDFs, up to {MAX_FILES} files of "
        f"{MAX_FILE_BYTES // (1024 * 1024)} MB each. Location and camera data "
        "are removed from images before they are encrypted.",
    )


class AcknowledgeForm(FlaskForm):
    comment = TextAreaField(
        "Comment (optional)",
        validators=[Length(max=MAX_NOTE, message=f"Write at most {MAX_NOTE:,} characters.")],
    )


class ReplyForm(FlaskForm):
    text = TextAreaField(
        "Reply",
        validators=[Length(max=MAX_NOTE, message=f"Write at most {MAX_NOTE:,} characters.")],
        description="Goes to everyone who may read this alert, at each school that received it.",
    )


class SightingForm(FlaskForm):
    seen_on = DateField("When you saw it (optional)", validators=[Optional()])
    where = StringField(
        "Where (optional)",
        validators=[Length(max=500, message="Write at most 500 characters.")],
        description="For example: shared in a parents' group, or on a pupil's phone.",
    )


class ActionForm(FlaskForm):
    action_type = SelectField(
        "Referral or step",
        choices=[SelectChoice("", "Choose the agency or step"), *_choices(vocab.ACTIONS)],
        validate_choice=False,
    )
    reference = StringField(
        "Reference number (optional, encrypted)",
        validators=[Length(max=100, message="Write at most 100 characters.")],
        description="The number the agency or platform gave you, such as a police incident number.",
    )
    referred_on = DateField(
        "Date made (optional)",
        validators=[Optional()],
        description="Leave empty for today.",
    )
    due_on = DateField(
        "Follow up by (optional)",
        validators=[Optional()],
        description="The day to check what came of it. Your school is reminded once it "
        "has passed, and it shows as overdue until you record the outcome.",
    )
    note = TextAreaField(
        "Note (optional, encrypted)",
        validators=[Length(max=MAX_NOTE, message=f"Write at most {MAX_NOTE:,} characters.")],
    )


class OutcomeForm(FlaskForm):
    outcome = SelectField(
        "Outcome",
        choices=[SelectChoice("", "Choose the outcome"), *_choices(vocab.OUTCOMES)],
        validate_choice=False,
    )
    next_due_on = DateField(
        "Follow up again by (optional)",
        validators=[Optional()],
        description="Leave empty when nothing more is to be followed up.",
    )
    note = TextAreaField(
        "Note (optional, encrypted)",
        validators=[Length(max=MAX_NOTE, message=f"Write at most {MAX_NOTE:,} characters.")],
    )


class WithdrawForm(FlaskForm):
    reason = TextAreaField(
        "Why are you withdrawing it?",
        validators=[Length(max=MAX_NOTE, message=f"Write at most {MAX_NOTE:,} characters.")],
        description="Every school that received it sees this reason. The alert's content, "
        "evidence and thread are destroyed at every school; this cannot be undone.",
    )


class CorrectionForm(FlaskForm):
    correction = TextAreaField(
        "Correction",
        validators=[Length(max=MAX_NOTE, message=f"Write at most {MAX_NOTE:,} characters.")],
        description="Signed by your school and shown above the original to every school "
        "that received it.",
    )


class CloseForm(FlaskForm):
    close_note = TextAreaField(
        "Note",
        validators=[Length(max=MAX_NOTE, message=f"Write at most {MAX_NOTE:,} characters.")],
        description="What your school did. Encrypted; every school that received the alert "
        "sees it.",
    )


class ResolveForm(FlaskForm):
    resolve_note = TextAreaField(
        "How was it resolved?",
        validators=[Length(max=MAX_NOTE, message=f"Write at most {MAX_NOTE:,} characters.")],
        description="Encrypted; every school that received the alert sees it.",
    )
    confirm = BooleanField(
        "I confirm the matter is dealt with for our school",
        description="Other schools can still acknowledge, reply and record actions.",
    )


class ForwardForm(FlaskForm):
    schools = MultiCheckboxField("Forward to", validate_choice=False)
    note = TextAreaField(
        "Note for the recipients (optional)",
        validators=[Length(max=MAX_NOTE, message=f"Write at most {MAX_NOTE:,} characters.")],
    )


class InboxFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form changes nothing

    status = SelectField(
        "Status",
        choices=[
            SelectChoice("", "All"),
            SelectChoice(InboxStatus.UNREAD, "Unread by you"),
            SelectChoice(InboxStatus.UNACKNOWLEDGED, "Not acknowledged"),
            SelectChoice(InboxStatus.ACKNOWLEDGED, "Acknowledged"),
            SelectChoice(InboxStatus.OPEN, "Open for your school"),
            SelectChoice(InboxStatus.CLOSED, "Closed by your school"),
            SelectChoice(InboxStatus.RESOLVED, "Resolved by the sender"),
            SelectChoice(InboxStatus.WITHDRAWN, "Withdrawn by the sender"),
        ],
        validate_choice=False,
    )
    category = SelectField(
        "Category",
        choices=[SelectChoice("", "All"), *_choices(vocab.CATEGORIES)],
        validate_choice=False,
    )
    severity = SelectField(
        "Severity",
        choices=[SelectChoice("", "All"), *_choices(vocab.SEVERITIES)],
        validate_choice=False,
    )
    platform = SelectField("Platform", validate_choice=False)
    sender = SelectField("From", validate_choice=False)
    q = SearchField(
        "Search titles and descriptions",
        description=(
            "Whole words, all of them. Titles are searched once your school has listed "
            "an alert, descriptions once it has opened one."
        ),
    )


class PlatformForm(FlaskForm):
    """A platform's details (network/alerts/platforms.py checks their meaning)."""

    code = StringField(
        "Code",
        validators=[Length(max=32, message="Enter a code of at most 32 characters.")],
        description="Lower-case letters, digits and underscores, e.g. bereal. Fixed once added.",
    )
    name = StringField(
        "Name", validators=[Length(max=100, message="Enter at most 100 characters.")]
    )
    minimum_age = IntegerField(
        "Minimum age",
        validators=[InputRequired("Enter an age from 0 to 21.")],
        description="As the platform's terms state it for the UK; 0 if it sets none.",
    )
    reporting_url = StringField(
        "Where to report a post (web address)",
        validators=[Length(max=2000, message="That web address is too long.")],
    )
    underage_reporting_url = StringField(
        "Where to report an under-age user (web address)",
        validators=[Length(max=2000, message="That web address is too long.")],
    )


class RetentionForm(FlaskForm):
    """One period in days per category, added in ``for_periods``."""

    @classmethod
    def for_periods(cls, current: dict[str, int], **kwargs: object) -> RetentionForm:
        class Bound(cls):  # type: ignore[valid-type,misc]
            pass

        for term in vocab.CATEGORIES:
            setattr(
                Bound,
                f"days_{term.code}",
                IntegerField(
                    f"{term.label} (days)",
                    default=current[term.code],
                    validators=[InputRequired("Enter a number of days.")],
                ),
            )
        form: RetentionForm = Bound(**kwargs)
        return form

    def periods(self) -> dict[str, int]:
        return {term.code: int(self[f"days_{term.code}"].data or 0) for term in vocab.CATEGORIES}


class HoldForm(FlaskForm):
    """Placing or releasing a legal hold: a button, with CSRF."""


class GuidanceForm(FlaskForm):
    """A new version of the cluster's guidance for one category."""

    text = TextAreaField(
        "What the policy says to do",
        validators=[Length(max=5_000, message="Write at most 5,000 characters.")],
        description="Plain words, shown on the post form when this category is chosen. "
        "A blank line starts a new paragraph.",
    )
    summary = StringField(
        "What changed and why",
        validators=[Length(max=500, message="Write at most 500 characters.")],
        description="Kept with this version and in the audit log, e.g. "
        '"New MASH phone number from the 2027 procedures".',
    )


class OutOfHoursForm(FlaskForm):
    """The school's out-of-hours contact for urgent alerts."""

    name = StringField(
        "Name", validators=[Length(max=200, message="Write at most 200 characters.")]
    )
    email = StringField(
        "Email address",
        validators=[Length(max=254, message="Write at most 254 characters.")],
        description="Where the hub emails them when an urgent alert falls due outside school days.",
    )
    phone = StringField(
        "Phone number (optional)",
        validators=[Length(max=40, message="Write at most 40 characters.")],
        description="Shown to your school's members on the school page.",
    )


class ReviewNoteForm(FlaskForm):
    """A reviewer's note (asking for changes) or reason (rejecting), sealed to the school."""

    text = TextAreaField(
        "Note for the author",
        validators=[Length(max=MAX_NOTE, message=f"Write at most {MAX_NOTE:,} characters.")],
        description="Only your school can read it; the author is told to sign in to read it.",
    )


class ReviewSettingForm(FlaskForm):
    reviews_staff_alerts = RadioField(
        "Four-eyes review of alerts from staff",
        choices=[
            SelectChoice("on", "On: a head or the DSL approves each alert from staff"),
            SelectChoice("off", "Off: staff who may post send alerts straight away"),
        ],
        validate_choice=False,
    )
