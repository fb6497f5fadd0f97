# Types for the parts of Flask-WTF the hub uses: Flask-WTF ships none, and
# typeshed has none. WTForms 3.3 is untyped too (types-WTForms describes 3.2,
# without SelectChoice), so its fields stay Any.
from flask_wtf.csrf import CSRFProtect as CSRFProtect
from flask_wtf.form import FlaskForm as FlaskForm

__all__ = ["CSRFProtect", "FlaskForm"]
