from typing import Any

# WTForms' field classes are untyped (see __init__.pyi), so these are Any too.
FileField: Any
MultipleFileField: Any
FileRequired: Any
FileAllowed: Any
FileSize: Any
