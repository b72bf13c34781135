"""Option files read safely: YAML that builds only plain data, never objects, with one-line errors naming file and line.

BasicSR 1.4.2 reads option files with ``yaml.load`` and a full loader, so a ``!!python/object/apply:...`` tag in a
shared option file runs code. ``SafeOptionLoader`` is PyYAML's safe loader (key order kept, ``!!float`` understood)
with two changes: any ``!!python/...`` tag is refused, and floats written without a dot (``1e-4``), which PyYAML
reads as text unlike YAML 1.2, are floats. ``load_yaml`` is the one way the package reads an option file (train,
test, BasicSR's own scripts, enhance, pseudo pairs, prepare's ``--config``, the demo): whatever the bytes, it returns
a mapping or raises ``OptionFileError``, one line naming the file.
"""
import re

import yaml

_MAX_VALUES = 1_000_000  # values an option file may expand to through aliases (a real one holds about a thousand)


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
        OptionFileError: syntax error, refused tag, a value no Python type holds (a 30th of February, an integer of
            more digits than Python converts, an empty ``!!float``) or nesting too deep, as
            ``<path>[:<line>]: <problem>``.
    """
    try:
        return yaml.load(text, Loader=SafeOptionLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f'{path}:{mark.line + 1}' if mark is not None else path
        problem = ' '.join(part for part in (err.context, err.problem) if part)
        raise OptionFileError(f'{where}: {problem}') from None
    except (yaml.YAMLError, ValueError) as err:
        raise OptionFileError(f'{path}: {(str(err).splitlines() or [type(err).__name__])[0]}') from None
    except (AttributeError, IndexError, KeyError, TypeError) as err:  # PyYAML on an empty '!!float' or '!!timestamp'
        raise OptionFileError(f'{path}: a tagged value cannot be read ({type(err).__name__}: {err})') from None
    except RecursionError:
        raise OptionFileError(f'{path}: nested too deeply to read') from None


def load_yaml(path):
    """The option file ``path`` as plain data: a mapping, whose key order is the file's; see ``load_yaml_text``.

    Raises:
        OptionFileError: missing or unreadable file, not UTF-8 text, syntax error, refused tag, a top level that is
            not a mapping (an empty file, a list, a single value), an option name that is not text, an alias cycle,
            or aliases expanding past ``_MAX_VALUES`` values; one line naming ``path`` (and the line).
    """
    try:
        with open(path, encoding='utf-8') as f:
            text = f.read()
    except UnicodeDecodeError as err:
        raise OptionFileError(f'{path}: not a UTF-8 text file (byte 0x{err.object[err.start]:02x} at offset '
                              f'{err.start})') from None
    except OSError as err:
        raise OptionFileError(f'cannot read option file {path}: {err.strerror or err}') from None
    data = load_yaml_text(text, path)
    if not isinstance(data, dict):
        raise OptionFileError(f'{path}: expected a mapping of options (key: value lines), got {_described(data)}')
    try:
        values = _count_values(data, path, 'the top level', {}, set())
    except RecursionError:
        raise OptionFileError(f'{path}: nested too deeply to read') from None
    if values > _MAX_VALUES:
        raise OptionFileError(f'{path}: its aliases expand to more than {_MAX_VALUES} values')
    return data


def _count_values(node, path, where, counted, open_nodes):
    """Values in ``node`` with every alias expanded (counted once per node); OptionFileError naming ``where`` for a
    key that is not text (``on:`` and ``1:`` are not names) or a node that contains itself (an alias cycle)."""
    if not isinstance(node, (dict, list)):
        return 1
    if id(node) in open_nodes:
        raise OptionFileError(f'{path}: {where} refers to itself through an alias (a cycle)')
    if id(node) not in counted:
        open_nodes.add(id(node))
        items = node.items() if isinstance(node, dict) else enumerate(node)
        counted[id(node)] = 1 + sum(_count_values(value, path, _child(node, key, where, path), counted, open_nodes)
                                    for key, value in items)
        open_nodes.discard(id(node))
    return counted[id(node)]


def _child(node, key, where, path):
    if isinstance(node, list):
        return f'{where}[{key}]'
    if not isinstance(key, str):
        raise OptionFileError(f'{path}: option names are text, got {type(key).__name__} {key!r} in {where} (put '
                              'the name in quotes)')
    return key if where == 'the top level' else f'{where}.{key}'


def _described(data):
    if data is None:
        return 'no options (the file is empty or only comments)'
    if isinstance(data, list):
        return 'a list'
    return f'a single {type(data).__name__} value'


def ordered_yaml():
    """Replacement of ``basicsr.utils.options.ordered_yaml``: (safe loader, BasicSR's dumper)."""
    return SafeOptionLoader, yaml.SafeDumper
