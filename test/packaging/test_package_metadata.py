"""LICENSE, CHANGELOG.rst and package.xml's metadata, as ROS release tooling reads them."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

APACHE_SECTIONS = [
    "Definitions",
    "Grant of Copyright License",
    "Grant of Patent License",
    "Redistribution",
    "Submission of Contributions",
    "Trademarks",
    "Disclaimer of Warranty",
    "Limitation of Liability",
    "Accepting Warranty or Additional Liability",
]


def test_license_file_is_the_full_apache_2_text_named_everywhere():
    text = (REPO_ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    headings = re.findall(r"^\s*(\d)\. ([A-Z][A-Za-z ]+?)\.", text, re.M)
    assert [title for _, title in headings] == APACHE_SECTIONS
    assert "END OF TERMS AND CONDITIONS" in text
    root = ET.parse(REPO_ROOT / "package.xml").getroot()
    assert [e.text for e in root.findall("license")] == ["Apache-2.0"]
    assert 'license="Apache-2.0"' in (REPO_ROOT / "setup.py").read_text()


def test_package_xml_names_website_repository_and_bugtracker():
    root = ET.parse(REPO_ROOT / "package.xml").getroot()
    urls = {e.get("type"): e.text for e in root.findall("url")}
    assert set(urls) == {"website", "repository", "bugtracker"}
    assert all(url.startswith("https://") for url in urls.values())


@pytest.mark.filterwarnings("ignore:nodes.Node.traverse:DeprecationWarning")  # inside catkin_pkg
def test_changelog_is_a_catkin_changelog_for_this_package():
    from catkin_pkg.changelog import get_changelog_from_path
    from catkin_pkg.package import parse_package

    path = REPO_ROOT / "CHANGELOG.rst"
    lines = path.read_text().splitlines()
    title = "Changelog for package vilasr_ros"
    assert lines[:3] == ["^" * len(title), title, "^" * len(title)]
    # Unreleased entries sit under "Forthcoming" (catkin_prepare_release turns it into the version).
    sections = [lines[i] for i in range(4, len(lines) - 1) if lines[i + 1] and set(lines[i + 1]) == {"-"}]
    assert sections, "no sections"
    version = parse_package(str(REPO_ROOT / "package.xml")).version
    released = [section.split()[0] for section in sections if section != "Forthcoming"]
    assert all(re.fullmatch(r"\d+\.\d+\.\d+ \(\d{4}-\d{2}-\d{2}\)", s) for s in sections if s != "Forthcoming")
    assert sections[0] == "Forthcoming" or released[0] == version
    parsed = [v for v, _, _ in get_changelog_from_path(str(path), "vilasr_ros").foreach_version()]
    assert parsed == released
