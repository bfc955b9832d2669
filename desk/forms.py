"""The desk's forms: checked on the server, with their CSRF token; labels are in the templates."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional


class SignInForm(FlaskForm):
    """Phone and password."""

    phone = StringField(validators=[DataRequired(), Length(max=32)])
    password = PasswordField(validators=[DataRequired(), Length(max=200)])


class SetUpForm(FlaskForm):
    """Phone, the one-time code received by SMS, and the new password."""

    phone = StringField(validators=[DataRequired(), Length(max=32)])
    code = StringField(validators=[DataRequired(), Length(max=20)])
    password = PasswordField(validators=[DataRequired(), Length(min=10, max=200)])


class WalkInForm(FlaskForm):
    """The standard enrolment form, filled at the counter for a person who came in."""

    full_name = StringField(validators=[DataRequired(), Length(min=2, max=80)])
    sex = SelectField(choices=[SelectChoice("F", "F"), SelectChoice("M", "M")], validators=[DataRequired()])
    birth_year = IntegerField(validators=[DataRequired(), NumberRange(min=1900, max=2100)])
    birth_date = StringField(validators=[Optional(), Length(max=10)])
    village = SelectField(validators=[DataRequired()], validate_choice=True)
    household_size = IntegerField(validators=[DataRequired(), NumberRange(min=1, max=40)])
    phone = StringField(validators=[Optional(), Length(max=32)])
    programmes = SelectMultipleField(validate_choice=True)
    consent = StringField(validators=[DataRequired()])
    # One per form shown: a form submitted twice (a double click, a resent POST) files once.
    token = StringField(validators=[DataRequired(), Length(min=8, max=64)])
