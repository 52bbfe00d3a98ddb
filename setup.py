"""Package list for setuptools (everything else is in pyproject.toml).

``templates/`` is installed as the ``sitepack_templates`` package so that an installed
sitepack finds its Jinja2 templates (see ``restorer.paths.templates_dir``).
"""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["packer", "packer.*", "restorer", "restorer.*"])
    + ["sitepack_templates"],
    package_dir={"sitepack_templates": "templates"},
    package_data={
        "sitepack_templates": ["**/*.html", "**/*.css", "**/*.js", "**/*.txt"],
        "packer": ["**/*.css", "**/*.js", "**/*.svg"],
        "restorer": ["**/*.css", "**/*.js", "**/*.svg"],
    },
)
