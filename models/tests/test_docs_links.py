"""Every relative link and image in the repository's markdown files points at a file that exists,
and every `#anchor` at a heading of the target file (GitHub's heading slugs); every netbend_models
module the markdown and Rust files name (`python -m netbend_models.x.y`, `python_module("...")`,
`netbend_models.x.y[.name]`, `netbend_models/x/y.py`) exists.

Files: the markdown files git knows (tracked, or untracked and not ignored), or, without git, every
`*.md` under the root; generated, installed and third-party folders are left out. Links: inline
`[text](target)` and `![alt](target)`, and reference definitions `[label]: target`, outside fenced
code blocks and code spans. Links with a scheme (http, https, mailto, ...) are not checked. Module
names are checked everywhere in a file, code blocks included."""
import ast
import os
import re
import subprocess
import unicodedata
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parents[2]

# Folders never searched: environments, build output, generated data, third-party code.
SKIP_DIRS = {".git", ".venv", "venv", "target", "node_modules", "__pycache__", ".pytest_cache",
             "demo-output", "third_party", "third-party", "vendor", "site-packages"}
SKIP_PATHS = {"models/data", "models/runs"}

FENCE = re.compile(r"^ *(`{3,}|~{3,})")
CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.S)
INLINE_LINK = re.compile(r"(!?)\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\(\s*(<[^>\n]*>|[^()\s]*(?:\([^()\s]*\)[^()\s]*)*)"
                         r"(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*\)")
REFERENCE_DEF = re.compile(r"^ {0,3}\[([^\]]+)\]:\s*(<[^>\n]*>|\S+)", re.M)
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
SETEXT_UNDERLINE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")


def markdown_files(root=ROOT, suffix=".md"):
    """The markdown (or other `suffix`) files to check, as paths under root, sorted."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard",
                              "--", f"*{suffix}"], cwd=root, capture_output=True, check=True).stdout
        candidates = [root / name for name in out.decode().split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        candidates = []
        for directory, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
            candidates += [Path(directory) / f for f in files if f.endswith(suffix)]
    keep = []
    for path in candidates:
        rel = path.relative_to(root)
        if not path.is_file() or any(part in SKIP_DIRS for part in rel.parts[:-1]):
            continue
        if any(rel.as_posix().startswith(prefix + "/") for prefix in SKIP_PATHS):
            continue
        keep.append(path)
    return sorted(keep)


def prose_lines(text):
    """The lines of text with fenced code blocks blanked (line numbers kept)."""
    lines, fence = [], None
    for line in text.split("\n"):
        match = FENCE.match(line)
        if fence is None and match:
            fence = match.group(1)
            lines.append("")
        elif fence is not None:
            if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence) \
                    and not line.strip().lstrip(fence[0]):
                fence = None
            lines.append("")
        else:
            lines.append(line)
    return lines


def blank_code_spans(text):
    """text with every code span replaced by spaces (newlines kept), paragraph by paragraph:
    a code span cannot cross a blank line."""
    def blank(match):
        return re.sub(r"[^\n]", " ", match.group(0))
    return "\n\n".join(CODE_SPAN.sub(blank, block) for block in text.split("\n\n"))


def links(text):
    """(line number, link as written, target) of every link, image and reference definition."""
    prose = blank_code_spans("\n".join(prose_lines(text)))
    found = []
    for match in INLINE_LINK.finditer(prose):
        target = match.group(3).strip("<>")
        found.append((prose.count("\n", 0, match.start()) + 1, match.group(0), target))
    for match in REFERENCE_DEF.finditer(prose):
        found.append((prose.count("\n", 0, match.start()) + 1, match.group(0), match.group(2).strip("<>")))
    return sorted(found)


def slug(heading):
    """GitHub's anchor for a heading's text: markdown links reduced to their text, lower case,
    everything but letters, digits, spaces, '-' and '_' removed, spaces turned into '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip())
    text = re.sub(r"<[^>]+>", "", text).lower()
    kept = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in "LN")
    return kept.replace(" ", "-")


def anchors(text):
    """Every heading anchor of a markdown text, repeated headings numbered as GitHub does (-1, -2)."""
    seen, result = {}, set()
    lines = prose_lines(text)
    for i, line in enumerate(lines):
        atx = ATX_HEADING.match(line)
        if atx:
            heading = atx.group(2) or ""
        elif i > 0 and lines[i - 1].strip() and SETEXT_UNDERLINE.match(line) \
                and not ATX_HEADING.match(lines[i - 1]):
            heading = lines[i - 1]
        else:
            continue
        base = slug(heading)
        anchor = base if base not in seen else f"{base}-{seen[base]}"
        seen[base] = seen.get(base, 0) + 1
        result.add(anchor)
    return result


def broken_links(files, root=ROOT):
    """One message per broken link: 'file:line: link: what is wrong'."""
    problems, anchor_cache = [], {}
    for path in files:
        text = path.read_text(encoding="utf-8")
        for line, written, target in links(text):
            if not target or SCHEME.match(target):
                continue
            where, _, anchor = target.partition("#")
            where = unquote(where)
            if not where:
                dest = path
            elif where.startswith("/"):
                dest = root / where.lstrip("/")
            else:
                dest = path.parent / where
            name = f"{path.relative_to(root).as_posix()}:{line}: {written}"
            if not dest.exists():
                problems.append(f"{name}: {dest.relative_to(root) if dest.is_relative_to(root) else dest}"
                                " does not exist")
                continue
            if anchor and dest.is_file() and dest.suffix.lower() == ".md":
                if dest not in anchor_cache:
                    anchor_cache[dest] = anchors(dest.read_text(encoding="utf-8"))
                if unquote(anchor).lower() not in anchor_cache[dest]:
                    problems.append(f"{name}: no heading with anchor #{anchor} in "
                                    f"{dest.relative_to(root).as_posix()}")
    return problems


def test_every_markdown_link_resolves():
    files = markdown_files()
    assert ROOT / "README.md" in files and ROOT / "models" / "README.md" in files
    problems = broken_links(files)
    assert not problems, "broken markdown links:\n" + "\n".join(problems)


def test_slugs_follow_github():
    assert slug("Stereo: linked channels") == "stereo-linked-channels"
    assert slug("Image models (`kind: \"stylegan2\"`)") == "image-models-kind-stylegan2"
    assert slug("Per-clip clusters: `netbend clusters`") == "per-clip-clusters-netbend-clusters"
    assert slug("The plugin in real time") == "the-plugin-in-real-time"
    assert slug("Images (`netbend bench --model IMAGE_MODEL`)") == "images-netbend-bench---model-image_model"
    assert slug("See [the spec](docs/x.md) now") == "see-the-spec-now"
    assert anchors("# A\n\n## A\n\nB\n---\n```\n# not a heading\n```\n") == {"a", "a-1", "b"}


def test_the_check_finds_broken_links(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "spec.md").write_text("# Spec\n\n## Seeds: the rule\n")
    (tmp_path / "pic.png").write_bytes(b"")
    (tmp_path / "README.md").write_text(
        "Good: [spec](docs/spec.md), [seeds](docs/spec.md#seeds-the-rule), ![pic](pic.png),\n"
        "[self](#top), [web](https://example.org/missing), `[code](missing.md)`.\n"
        "\n# Top\n\n```sh\n[fenced](missing.md)\n```\n\n"
        "Bad: [gone](docs/gone.md) and\n![no image](docs/none.png), [anchor](docs/spec.md#seeds).\n"
        "[ref]: missing-ref.md\n")
    problems = broken_links([tmp_path / "README.md", tmp_path / "docs" / "spec.md"], root=tmp_path)
    assert len(problems) == 4, problems
    assert problems[0].startswith("README.md:10: [gone](docs/gone.md): ")
    assert problems[1].startswith("README.md:11: ![no image](docs/none.png): ")
    assert problems[2] == ("README.md:11: [anchor](docs/spec.md#seeds): "
                           "no heading with anchor #seeds in docs/spec.md")
    assert problems[3].startswith("README.md:12: [ref]: missing-ref.md: ")


# ---------------------------------------------------------------------------------------------
# netbend_models module names

PACKAGE = "netbend_models"
COMMAND = re.compile(r"python3?\s+-m\s+(netbend_models(?:\.\w+)*)|python_module\(\s*\"(netbend_models(?:\.\w+)*)\"")
DOTTED = re.compile(r"(?<![\w./-])netbend_models(?:\.\w+)+")
FILE_PATH = re.compile(r"(?<![\w.-])netbend_models(?:/\w+)+\.py")


def top_level_names(path):
    """Names a module defines or imports at its top level."""
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    return names


def resolve(dotted, models):
    """(kind, path, rest) of a dotted name under models/: kind "module" or "package" for its longest
    prefix that exists, rest the names after it; (None, None, parts) if not even the package does."""
    parts = dotted.split(".")
    for n in range(len(parts), 0, -1):
        base = models.joinpath(*parts[:n])
        if base.with_suffix(".py").is_file():
            return "module", base.with_suffix(".py"), parts[n:]
        if (base / "__init__.py").is_file():
            return "package", base, parts[n:]
    return None, None, parts


def module_problems(files, models, root=ROOT):
    """One message per name of a missing module: 'file:line: name: what is wrong'. A name followed
    by `.<` or `...` is a pattern (`netbend_models.<package>.<module>`), not checked."""
    problems = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        where = path.relative_to(root).as_posix()
        commands = set()
        for match in COMMAND.finditer(text):
            name = match.group(1) or match.group(2)
            line = text.count("\n", 0, match.start()) + 1
            commands.add(match.start(match.lastindex))
            if text.startswith((".<", "..."), match.end(match.lastindex)):
                continue
            kind, found, rest = resolve(name, models)
            if rest or not (kind == "module" or (kind == "package" and (found / "__main__.py").is_file())):
                problems.append(f"{where}:{line}: python -m {name}: no such module")
        for match in DOTTED.finditer(text):
            if match.start() in commands or text.startswith((".<", "..."), match.end()):
                continue
            name, line = match.group(0), text.count("\n", 0, match.start()) + 1
            kind, found, rest = resolve(name, models)
            if kind is None or (kind == "package" and rest) or len(rest) > 1 \
                    or (rest and rest[0] not in top_level_names(found)):
                problems.append(f"{where}:{line}: {name}: no such module or name")
        for match in FILE_PATH.finditer(text):
            if not (models / match.group(0)).is_file():
                line = text.count("\n", 0, match.start()) + 1
                problems.append(f"{where}:{line}: {match.group(0)}: no such file")
    return problems


def test_every_named_module_exists():
    files = markdown_files() + markdown_files(suffix=".rs")
    assert ROOT / "tests" / "support" / "src" / "lib.rs" in files
    problems = module_problems(files, ROOT / "models")
    assert not problems, "netbend_models modules that do not exist:\n" + "\n".join(problems)


def test_the_check_finds_missing_modules(tmp_path):
    models = tmp_path / "models"
    (models / PACKAGE / "vae").mkdir(parents=True)
    (models / PACKAGE / "__init__.py").write_text("")
    (models / PACKAGE / "vae" / "__init__.py").write_text("")
    (models / PACKAGE / "vae" / "train.py").write_text("STEPS = 1\ndef main():\n    pass\n")
    (tmp_path / "README.md").write_text(
        "```sh\npython -m netbend_models.vae.train --data x\npython -m netbend_models.train\n```\n"
        "`python -m\nnetbend_models.vae` and `netbend_models.vae.train.main`, `netbend_models.vae.model`,\n"
        "`netbend_models.vae.train.nothing`, `models/netbend_models/vae/train.py`, `netbend_models/vae.py`.\n"
        "Patterns: `python -m netbend_models.<package>.<module>`, `netbend_models.vae.<module>`.\n")
    (tmp_path / "lib.rs").write_text('python_module("netbend_models.vae.train");\n'
                                     'python_module("netbend_models.export")\n')
    problems = module_problems([tmp_path / "README.md", tmp_path / "lib.rs"], models, root=tmp_path)
    assert problems == [
        "README.md:3: python -m netbend_models.train: no such module",
        "README.md:5: python -m netbend_models.vae: no such module",
        "README.md:6: netbend_models.vae.model: no such module or name",
        "README.md:7: netbend_models.vae.train.nothing: no such module or name",
        "README.md:7: netbend_models/vae.py: no such file",
        "lib.rs:2: python -m netbend_models.export: no such module",
    ], problems
