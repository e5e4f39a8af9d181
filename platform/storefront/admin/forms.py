"""Dashboard forms. Money is typed in major units and stored in minor units."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from ..catalog.models import check_image_url


def _image_url(form: FlaskForm, field: StringField) -> None:
    try:
        check_image_url(field.data)
    except ValueError as exc:
        raise ValidationError(f"Image URL {exc}.") from None


SLUG = Regexp(r"^[a-z0-9]+(?:-[a-z0-9]+)*$", message="Lowercase letters, digits and dashes.")


class ProductForm(FlaskForm):
    sku = StringField("SKU", validators=[DataRequired(), Length(max=64)])
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    slug = StringField(
        "URL slug",
        validators=[Optional(), Length(max=120), SLUG],
        description="Leave empty to derive it from the title.",
    )
    description = TextAreaField("Description", validators=[Length(max=20000)])
    price = StringField("Price", validators=[DataRequired(), Length(max=20)])
    compare_at_price = StringField(
        "Compare-at price", validators=[Optional(), Length(max=20)], description="Optional."
    )
    stock = IntegerField("Stock", default=0, validators=[NumberRange(min=0, max=1_000_000)])
    categories = SelectMultipleField("Categories", choices=[], validate_choice=True)
    image_url = StringField("Image URL", validators=[Optional(), Length(max=500), _image_url])
    image = FileField(
        "Or upload an image",
        validators=[FileAllowed(["png", "jpg", "jpeg", "gif", "webp"], "Images only.")],
    )
    active = BooleanField("Active (visible in the shop)", default=True)
    featured = BooleanField("Featured on the home page")
    submit = SubmitField("Save product")


class StockForm(FlaskForm):
    delta = IntegerField(
        "Add (or remove with a minus sign)",
        validators=[DataRequired(), NumberRange(min=-1_000_000, max=1_000_000)],
    )
    submit = SubmitField("Adjust stock")


class CategoryForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    slug = StringField("Slug", validators=[Optional(), Length(max=120), SLUG])
    parent = SelectField("Parent", choices=[], validate_choice=True)
    submit = SubmitField("Add category")


class StatusForm(FlaskForm):
    status = SelectField("Status", choices=[], validate_choice=True)
    submit = SubmitField("Update status")


class SettingsForm(FlaskForm):
    name = StringField("Shop name", validators=[DataRequired(), Length(max=200)])
    contact_email = EmailField(
        "Contact email", validators=[Optional(), Email(check_deliverability=False)]
    )
    footer_text = TextAreaField("Footer text", validators=[Length(max=500)])
    submit = SubmitField("Save settings")


class ConfirmForm(FlaskForm):
    """A bare CSRF-protected form for one-click actions (deactivate, delete)."""

    submit = SubmitField("Confirm")


class ApiKeyForm(FlaskForm):
    name = StringField(
        "Name", validators=[DataRequired(), Length(max=100)], description="e.g. ERP sync"
    )
    days = IntegerField(
        "Valid for (days)",
        validators=[Optional(), NumberRange(min=1, max=3650)],
        description="Leave empty for a key that lives until you revoke it.",
    )
    submit = SubmitField("Create key")


class WebhookForm(FlaskForm):
    url = StringField(
        "Endpoint URL",
        validators=[DataRequired(), Length(max=500)],
        description="https://… — your receiver; it gets a signed JSON POST per event.",
    )
    events = SelectMultipleField("Events", choices=[], validate_choice=True)
    submit = SubmitField("Add endpoint")
