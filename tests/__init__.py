import pytest

# The factories plugin (tests/conftest.py loads it) is imported by conftest
# first; registered here, its asserts are still rewritten.
pytest.register_assert_rewrite("tests.factories")
