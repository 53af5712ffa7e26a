"""SPORCO-style option dictionaries (shared by :mod:`sparseland.cbpdn` and
:mod:`sparseland.cbpdndl`)."""

import copy


class SporcoOptions(dict):
    """A dict of ``_defaults`` updated with the given entries; the keys in ``_defaults`` whose
    default is a dict are nested options, merged into their defaults. Unknown keys (nested or
    not) are a ``ValueError`` naming the key; nested keys listed in ``_ignored`` are accepted
    and dropped (display or tuning options the Rust solvers do not take). Subclasses set
    ``_name``, ``_defaults`` and ``_ignored``."""

    _name = "options"
    _defaults = {}
    _ignored = ()

    def __init__(self, opt=None):
        super().__init__(copy.deepcopy(self._defaults))
        for k, v in dict(opt or {}).items():
            self[k] = v

    def __setitem__(self, key, value):
        if key not in self._defaults:
            raise ValueError(f"unknown {self._name} option {key!r}")
        default = self._defaults[key]
        if isinstance(default, dict):
            merged = copy.deepcopy(default)
            for k, v in dict(value).items():
                if k in self._ignored:
                    continue
                if k not in default:
                    raise ValueError(f"unknown {self._name} option {key!r} / {k!r}")
                merged[k] = v
            value = merged
        super().__setitem__(key, value)
