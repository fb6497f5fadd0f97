"""Form shapes. Length caps here are a first line; the services validate meaning."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    HiddenField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from schools.models import Nation, Role
from schools.passwords import MAX_LENGTH, MIN_LENGTH

_password_hint = f"At least {MIN_LENGTH} characters. Three random words work well."


class MultiCheckboxField(SelectMultipleField):  # type: ignore[misc]  # WTForms 3.3 has no types
    """A list of checkboxes, one per choice, rather than a multiple select."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SignInForm(FlaskForm):
    email = EmailField(
        "Email address", validators=[DataRequired("Enter your email address."), Length(max=254)]
    )
    password = PasswordField(
        "Password", validators=[DataRequired("Enter your password."), Length(max=MAX_LENGTH)]
    )
    next = HiddenField()


class NewPasswordMixin:
    password = PasswordField(
        "Choose a password", description=_password_hint, validators=[Length(max=MAX_LENGTH)]
    )
    confirm = PasswordField("Type the password again", validators=[Length(max=MAX_LENGTH)])


class AcceptInvitationForm(NewPasswordMixin, FlaskForm):
    name = StringField("Your name", validators=[DataRequired("Enter your name."), Length(max=200)])


class ChangePasswordForm(NewPasswordMixin, FlaskForm):
    current = PasswordField(
        "Current password", validators=[DataRequired("Enter your current password.")]
    )


class SignOutEverywhereForm(FlaskForm):
    # The new credential key pair is sealed under the password, so it is asked for.
    password = PasswordField("Your password", validators=[DataRequired("Enter your password.")])


class RecoverForm(NewPasswordMixin, FlaskForm):
    email = EmailField("Email address", validators=[DataRequired("Enter your email address.")])
    code = StringField(
        "Recovery code", validators=[DataRequired("Enter the recovery code."), Length(max=100)]
    )


class InviteForm(FlaskForm):
    name = StringField("Their name", validators=[Length(max=200)])
    email = EmailField(
        "Their email address",
        validators=[DataRequired("Enter their email address."), Length(max=254)],
    )
    role = SelectField(
        "Role",
        choices=[
            SelectChoice(role.value, role.label)
            for role in (Role.STAFF, Role.DSL, Role.DEPUTY_DSL, Role.HEAD)
        ],
        default="staff",
    )


class ClusterForm(FlaskForm):
    name = StringField(
        "Cluster name", validators=[DataRequired("Enter the cluster name."), Length(max=200)]
    )
    coordinator_name = StringField("Coordinator's name", validators=[Length(max=200)])
    coordinator_email = EmailField(
        "Coordinator's email address",
        validators=[DataRequired("Enter the coordinator's email address."), Length(max=254)],
    )


class AdmitSchoolForm(FlaskForm):
    name = StringField(
        "School name", validators=[DataRequired("Enter the school name."), Length(max=200)]
    )
    urn = StringField(
        "URN",
        description="The six-digit DfE Unique Reference Number.",
        validators=[DataRequired("Enter the URN."), Length(max=6)],
    )
    address = TextAreaField("Address", validators=[Length(max=500)])
    head_name = StringField("Head's name", validators=[Length(max=200)])
    head_email = EmailField(
        "Head's email address",
        validators=[DataRequired("Enter the head's email address."), Length(max=254)],
    )


class SuspendForm(FlaskForm):
    reason = TextAreaField(
        "Reason, shown to the school's members",
        validators=[DataRequired("Say why the school is suspended."), Length(max=500)],
    )


class NationForm(FlaskForm):
    nation = SelectField(
        "Which nation is the school in?",
        choices=[SelectChoice(n.value, n.label) for n in Nation],
        validate_choice=False,
        description="Its bank holidays are not school days when acknowledgement deadlines "
        "are counted in school days.",
    )


class TermForm(FlaskForm):
    name = StringField("Term", description="Like Autumn 2027.", validators=[Length(max=100)])
    starts_on = StringField("First day", description="Like 2027-09-02.")
    ends_on = StringField("Last day", description="Like 2027-12-17.")


class InsetForm(FlaskForm):
    day = StringField("INSET day", description="A training day, like 2027-09-01.")
