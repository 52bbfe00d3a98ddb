"""bcrypt for Joomla's super user: the package, libc and the pure-Python fallback agree
with each other and with PHP's password_verify."""

import bcrypt

from restorer.platforms import bcrypt_pure
from restorer.platforms.joomla_users import hash_password
from tests.restore.bundles import php_password_verify


def test_pure_python_bcrypt_matches_the_bcrypt_package():
    for password in (b"", b"a", b"p\xc3\xa4ssw\xc3\xb6rd", b"x" * 72):
        salt = bcrypt.gensalt(4)
        assert bcrypt_pure.hashpw(password, salt, use_libc=False) == bcrypt.hashpw(password, salt)


def test_pure_python_hash_is_accepted_by_php(php):
    stored = "$2y$" + bcrypt_pure.hashpw("Ünï $pw".encode(), bcrypt_pure.gensalt(5), use_libc=False).decode()[4:]
    assert php_password_verify("Ünï $pw", stored) is True
    assert php_password_verify("Ünï $pW", stored) is False


def test_joomla_hash_is_2y_cost_10_and_php_accepts_it(php):
    stored = hash_password("s3cret!")
    assert stored.startswith("$2y$10$") and len(stored) == 60
    assert php_password_verify("s3cret!", stored) is True
