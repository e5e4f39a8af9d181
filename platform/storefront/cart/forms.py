"""Cart forms (CSRF-protected like every form)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SubmitField
from wtforms.validators import DataRequired, NumberRange


class AddToCartForm(FlaskForm):
    product_id = HiddenField(validators=[DataRequired()])
    # A product with variants: the variant (set by the page's script), or the values
    # chosen for each option (the radio buttons ``option-1`` … ``option-3``, without it).
    variant_id = HiddenField()
    quantity = IntegerField(_l("Quantity"), default=1, validators=[NumberRange(min=1, max=99)])
    submit = SubmitField(_l("Add to cart"))


class UpdateItemForm(FlaskForm):
    item_id = HiddenField(validators=[DataRequired()])
    quantity = IntegerField(_l("Quantity"), validators=[NumberRange(min=0, max=99)])
    submit = SubmitField(_l("Update"))
