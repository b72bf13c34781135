"""Option files read safely: YAML that builds only plain data, never objects, with one-line errors naming file and line.

BasicSR 1.4.2 reads option files with ``yaml.load`` and a full loader, so a ``!!python/object/apply:...`` tag in a
shared option file runs code. ``SafeOptionLoader`` is PyYAML's safe loader (key order kept, ``!!float`` understood)
with two changes: any ``!!python/...`` tag is refused, and floats written without a dot (``1e-4``), which PyYAML
reads as text unlike YAML 1.2, are floats.
"""
import re

import yaml


class OptionFileError(ValueError):
    """An option file that cannot be read, is not valid YAML or asks for Python objects (message names file:line)."""


class SafeOptionLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` refusing ``!!python/...`` tags and reading ``1e-4`` as a float (YAML 1.2)."""


def _refuse_python_tag(loader, suffix, node):
    raise yaml.constructor.ConstructorError(None, None, f'tag !!python/{suffix} is refused (option files may not '
                                            'create Python objects or run code)', node.start_mark)


SafeOptionLoader.add_multi_constructor('tag:yaml.org,2002:python/', _refuse_python_tag)
SafeOptionLoader.add_implicit_resolver('tag:yaml.org,2002:float',
                                       re.compile(r'^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$'),
                                       list('-+0123456789'))


def load_yaml_text(text, path):
    """Parse ``text`` (the contents of ``path``) with ``SafeOptionLoader``.

    Raises:
        OptionFileError: syntax error or refused tag, as ``<path>:<line>: <problem>``.
    """
    try:
        return yaml.load(text, Loader=SafeOptionLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f'{path}:{mark.line + 1}' if mark is not None else path
        problem = ' '.join(part for part in (err.context, err.problem) if part)
        raise OptionFileError(f'{where}: {problem}') from None
    except yaml.YAMLError as err:
        raise OptionFileError(f'{path}: {str(err).splitlines()[0]}') from None


def load_yaml(path):
    """The YAML file ``path`` as plain data (dicts keep the file's key order); see ``load_yaml_text``.

    Raises:
        OptionFileError: missing or unreadable file, syntax error or refused tag, naming ``path`` (and the line).
    """
    try:
        with open(path, encoding='utf-8') as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as err:
        raise OptionFileError(f'cannot read option file {path}: {getattr(err, "strerror", None) or err}') from None
    return load_yaml_text(text, path)


def ordered_yaml():
    """Replacement of ``basicsr.utils.options.ordered_yaml``: (safe loader, BasicSR's dumper)."""
    return SafeOptionLoader, yaml.SafeDumper
