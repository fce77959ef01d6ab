"""Translators from pickled e3nn ``o3`` modules to e3torch (see :mod:`e3torch.compat._pickle`).

Examples
--------
>>> from e3torch.compat._pickle import registered
>>> "e3torch.o3:FullyConnectedTensorProduct" in registered()
True
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from typing import Any

import torch

from e3torch.compat._pickle import Translator, attrs, rebuild, register
from e3torch.compat._pickle_signs import generated_differences, pickled_wigner_3j_convention

__all__: list[str] = []

_CODEGEN = attrs("__codegen__")


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def _first(
    candidates: Iterator[Callable[[], torch.nn.Module]], accept: Callable[[torch.nn.Module], bool]
) -> Any:
    """The first module built by ``candidates`` that ``accept`` s (``None`` if none)."""
    for make in candidates:
        try:
            module = make()
        except (ValueError, TypeError):
            continue
        if accept(module):
            return module
    return None


# --- Linear ---

_LINEAR_ATTRS = attrs(
    "__codegen__ _optimize_einsums bias_numel instructions internal_weights irreps_in irreps_out shared_weights",
    "weight_index_slices weight_numel",
)


def _linear_build(state: dict[str, Any], cls: type) -> torch.nn.Module:
    irreps_out = state["irreps_out"]
    instructions = [(int(i.i_in), int(i.i_out)) for i in state["instructions"] if i.i_in != -1]
    biases = [
        any(i.i_in == -1 and i.i_out == k for i in state["instructions"]) for k in range(len(irreps_out))
    ]
    weight = state["_parameters"].get("weight", state["_buffers"].get("weight"))
    f_in = f_out = None
    if weight is not None and state["internal_weights"] and weight.dim() == 3:
        f_in, f_out = int(weight.shape[0]), int(weight.shape[1])
    want = [
        (int(i.i_in), int(i.i_out), tuple(i.path_shape), float(i.path_weight)) for i in state["instructions"]
    ]

    def same(m: torch.nn.Module) -> bool:
        got = [(int(i.i_in), int(i.i_out), tuple(i.path_shape), float(i.path_weight)) for i in m.instructions]
        return len(got) == len(want) and all(
            a[:3] == b[:3] and _close(a[3], b[3]) for a, b in zip(sorted(got), sorted(want))
        )

    def candidates() -> Iterator[Callable[[], torch.nn.Module]]:
        for norm in ("element", "path"):
            yield lambda norm=norm: cls(
                state["irreps_in"],
                irreps_out,
                f_in=f_in,
                f_out=f_out,
                internal_weights=state["internal_weights"],
                shared_weights=state["shared_weights"],
                instructions=instructions,
                biases=biases,
                path_normalization=norm,
            )

    module = _first(candidates(), same)
    if module is None:
        raise ValueError(
            "cannot rebuild the pickled e3nn Linear: no path_normalization reproduces its path weights "
            f"{[w[3] for w in want]}"
        )
    return rebuild(module, state, "Linear")


register(
    Translator(
        "e3torch.o3:Linear",
        _LINEAR_ATTRS,
        _CODEGEN | attrs("instructions irreps_in irreps_out"),
        _linear_build,
        lambda cls: cls("1x0e+1x1o", "2x0e+1x1o", biases=True),
    )
)

# --- tensor products ---

_TP_ATTRS = attrs(
    "__codegen__ _did_compile_right _in1_dim _in2_dim _optimize_einsums _profiling_str _specialized_code",
    "instructions internal_weights irreps_in1 irreps_in2 irreps_out shared_weights weight_numel irreps_in",
)
_TP_MARKER = _CODEGEN | attrs("instructions irreps_in1 irreps_in2 irreps_out")
_IRREP_NORMS = ("component", "norm", "none")
_PATH_NORMS = ("element", "path", "none")


def _tp_key(i: Any) -> tuple[Any, ...]:
    return (
        int(i.i_in1),
        int(i.i_in2),
        int(i.i_out),
        str(i.connection_mode),
        bool(i.has_weight),
        tuple(i.path_shape),
    )


def _tp_same(want: list[Any]) -> Callable[[torch.nn.Module], bool]:
    def same(m: torch.nn.Module) -> bool:
        got = list(m.instructions)
        return len(got) == len(want) and all(
            _tp_key(a) == _tp_key(b) and _close(float(a.path_weight), float(b.path_weight))
            for a, b in zip(got, want)
        )

    return same


def _tp_general(state: dict[str, Any], cls: type, convention: str) -> torch.nn.Module:
    """Any e3nn tensor product, as the base ``TensorProduct`` with e3nn's final path weights (no normalization).

    e3nn's final weight is ``sqrt(path_weight * normalization factors)``: with no normalization, the user path
    weight ``w ** 2`` gives the final weight ``w``.
    """
    import e3torch.o3

    instructions = [
        (i.i_in1, i.i_in2, i.i_out, i.connection_mode, i.has_weight, float(i.path_weight) ** 2)
        for i in state["instructions"]
    ]
    return e3torch.o3.TensorProduct(
        state["irreps_in1"],
        state["irreps_in2"],
        state["irreps_out"],
        instructions,
        irrep_normalization="none",
        path_normalization="none",
        internal_weights=state["internal_weights"],
        shared_weights=state["shared_weights"],
        wigner_3j_convention=convention,
    )


_Natural = Callable[[dict[str, Any], type, str, str, str], torch.nn.Module]


def _tp_builder(natural: _Natural) -> Callable[..., torch.nn.Module]:
    """Build the subclass from its own arguments when some normalization reproduces e3nn's path weights.

    The module gets the Wigner 3j convention of the e3nn that made the pickle (``"e3nn-0.4"`` for 0.4.x), and is
    checked against the pickled generated code; if they differ, the other convention is tried (a pickle whose
    format does not tell its version), and if that differs too, loading fails naming the differing paths.
    """

    def make(state: dict[str, Any], cls: type, convention: str) -> torch.nn.Module:
        want = list(state["instructions"])
        candidates = (
            (lambda a=a, b=b: natural(state, cls, a, b, convention))
            for a, b in itertools.product(_IRREP_NORMS, _PATH_NORMS)
        )
        module = _first(candidates, _tp_same(want))
        if module is None:  # e.g. custom in/out variances: the general product has exactly e3nn's weights
            module = _tp_general(state, cls, convention)
            if not _tp_same(want)(module):
                raise ValueError(
                    f"cannot rebuild the pickled e3nn {cls.__name__}: its instructions do not reproduce"
                )
        return rebuild(module, state, cls.__name__)

    def build(state: dict[str, Any], cls: type) -> torch.nn.Module:
        first = pickled_wigner_3j_convention(state)
        module = make(state, cls, first)
        differences = generated_differences(module, state)
        if not differences:  # None: no generated code to compare with
            return module
        other = "e3nn" if first == "e3nn-0.4" else "e3nn-0.4"
        retry = make(state, cls, other)
        if not generated_differences(retry, state):
            return retry
        raise ValueError(
            f"the pickled e3nn {cls.__name__} does not compute what e3torch's rebuilt one does "
            f"(wigner_3j_convention={first!r}, nor {other!r}) on: {'; '.join(differences)}"
        )

    return build


def _weights(state: dict[str, Any]) -> dict[str, Any]:
    return {"internal_weights": state["internal_weights"], "shared_weights": state["shared_weights"]}


def _filter(state: dict[str, Any]) -> list[Any]:
    return sorted({ir for _, ir in state["irreps_out"]})


def _tp_natural(
    state: dict[str, Any], cls: type, irrep_norm: str, path_norm: str, conv: str
) -> torch.nn.Module:
    instructions = [
        (i.i_in1, i.i_in2, i.i_out, i.connection_mode, i.has_weight) for i in state["instructions"]
    ]
    return cls(
        state["irreps_in1"],
        state["irreps_in2"],
        state["irreps_out"],
        instructions,
        irrep_normalization=irrep_norm,
        path_normalization=path_norm,
        **_weights(state),
        wigner_3j_convention=conv,
    )


def _fctp_natural(
    state: dict[str, Any], cls: type, irrep_norm: str, path_norm: str, conv: str
) -> torch.nn.Module:
    return cls(
        state["irreps_in1"],
        state["irreps_in2"],
        state["irreps_out"],
        irrep_norm,
        path_norm,
        **_weights(state),
        wigner_3j_convention=conv,
    )


def _elementwise_natural(
    state: dict[str, Any], cls: type, irrep_norm: str, path_norm: str, conv: str
) -> torch.nn.Module:
    if path_norm != "element":
        raise ValueError("ElementwiseTensorProduct has no path_normalization argument")
    return cls(
        state["irreps_in1"], state["irreps_in2"], _filter(state), irrep_norm, wigner_3j_convention=conv
    )


def _square_natural(
    state: dict[str, Any], cls: type, irrep_norm: str, path_norm: str, conv: str
) -> torch.nn.Module:
    irreps_in = state.get("irreps_in", state["irreps_in1"])
    if state["weight_numel"] > 0 or any(i.has_weight for i in state["instructions"]):
        return cls(
            irreps_in,
            state["irreps_out"],
            irrep_normalization=irrep_norm,
            path_normalization=path_norm,
            **_weights(state),
            wigner_3j_convention=conv,
        )
    if path_norm != "element":
        raise ValueError("an unweighted TensorSquare has no path_normalization")
    return cls(
        irreps_in, filter_ir_out=_filter(state), irrep_normalization=irrep_norm, wigner_3j_convention=conv
    )


_TP_SAMPLE = ("2x0e+1x1o", "1x0e+1x1o")
for _target, _natural, _sample in [
    ("TensorProduct", _tp_natural, lambda cls: cls(*_TP_SAMPLE, "1x1o", [(1, 0, 0, "uvu", True)])),
    ("FullyConnectedTensorProduct", _fctp_natural, lambda cls: cls(*_TP_SAMPLE, "1x0e+1x1o")),
    ("ElementwiseTensorProduct", _elementwise_natural, lambda cls: cls("2x0e+1x1o", "1x0e+2x1o")),
    ("FullTensorProduct", _elementwise_natural, lambda cls: cls(*_TP_SAMPLE)),
    ("TensorSquare", _square_natural, lambda cls: cls("1x0e+1x1o")),
]:
    register(Translator(f"e3torch.o3:{_target}", _TP_ATTRS, _TP_MARKER, _tp_builder(_natural), _sample))

# --- spherical harmonics, norm ---

_SH_ATTRS = attrs(
    "_is_range_lmax _lmax _ls_list _prof_str irreps_in irreps_out normalization normalize sph_func"
)


def _sh_build(state: dict[str, Any], cls: type) -> torch.nn.Module:
    module = cls(state["irreps_out"], state["normalize"], state["normalization"], state.get("irreps_in"))
    return rebuild(module, state, "SphericalHarmonics")


register(
    Translator(
        "e3torch.o3:SphericalHarmonics",
        _SH_ATTRS,
        attrs("_ls_list normalize normalization"),
        _sh_build,
        lambda cls: cls([0, 1], True),
    )
)


def _sh_ab_build(state: dict[str, Any], cls: type) -> torch.nn.Module:
    return rebuild(cls(list(state["_ls_list"]), state["normalization"]), state, "SphericalHarmonicsAlphaBeta")


register(
    Translator(
        "e3torch.o3:SphericalHarmonicsAlphaBeta",
        attrs("_lmax _ls_list normalization"),
        attrs("_lmax _ls_list normalization"),
        _sh_ab_build,
        lambda cls: cls([0, 1]),
    )
)


def _norm_build(state: dict[str, Any], cls: type) -> torch.nn.Module:
    return rebuild(cls(state["irreps_in"], state["squared"]), state, "Norm")


register(
    Translator(
        "e3torch.o3:Norm",
        attrs("irreps_in irreps_out squared"),
        attrs("irreps_in irreps_out squared"),
        _norm_build,
        lambda cls: cls("2x1o"),
    )
)

# --- grids ---

_GRID_ATTRS = attrs("lmax res_alpha res_beta")


def _to_s2_build(state: dict[str, Any], cls: type) -> torch.nn.Module:
    module = cls(state["lmax"], (state["res_beta"], state["res_alpha"]))
    return rebuild(module, state, cls.__name__)


def _shapes_match(module: torch.nn.Module, state: dict[str, Any]) -> bool:
    ours = dict(module.named_buffers())
    return all(
        k not in ours or ours[k].shape == v.shape for k, v in state["_buffers"].items() if v is not None
    )


def _from_s2_build(state: dict[str, Any], cls: type) -> torch.nn.Module:
    res, lmax = (state["res_beta"], state["res_alpha"]), state["lmax"]
    candidates = [lambda: cls(res, lmax)] + [
        (lambda k=k: cls(res, lmax, lmax_in=k)) for k in range(max(lmax - 8, 0), lmax + 9)
    ]
    module = _first(iter(candidates), lambda m: _shapes_match(m, state))
    if module is None:
        raise ValueError(
            f"cannot rebuild the pickled e3nn FromS2Grid (res={res}, lmax={lmax}): no lmax_in fits"
        )
    return rebuild(module, state, cls.__name__)


register(
    Translator("e3torch.o3:ToS2Grid", _GRID_ATTRS, _GRID_ATTRS, _to_s2_build, lambda cls: cls(1, (4, 5)))
)
register(
    Translator("e3torch.o3:FromS2Grid", _GRID_ATTRS, _GRID_ATTRS, _from_s2_build, lambda cls: cls((4, 5), 1))
)


def _so3_build(state: dict[str, Any], cls: type) -> torch.nn.Module:
    total = state["_buffers"]["D"].shape[-1]  # sum_{l <= lmax} (2l+1)^2 = (lmax+1)(2lmax+1)(2lmax+3)/3
    lmax = next((n for n in range(128) if (n + 1) * (2 * n + 1) * (2 * n + 3) // 3 == total), None)
    if lmax is None:
        raise ValueError(f"cannot rebuild the pickled e3nn SO3Grid: D has {total} columns, not sum (2l+1)^2")
    res_beta, res_alpha = state["res_beta"], state["res_alpha"]
    module = cls(lmax, res_beta // 2, aspect_ratio=res_alpha // res_beta)
    return rebuild(module, state, "SO3Grid")


register(
    Translator(
        "e3torch.o3:SO3Grid",
        attrs("res_alpha res_beta res_gamma"),
        attrs("res_alpha res_beta res_gamma"),
        _so3_build,
        lambda cls: cls(1, 4),
    )
)

# --- reduced tensor products ---


def _rtp_build(state: dict[str, Any], cls: type) -> torch.nn.Module:
    """e3nn does not pickle the formula: rebuild from the pickled change of basis (the function it computes).

    Its tree of tensor products (``main``, pickled as generated code) is recovered from the change of basis, so the
    module has e3nn's ``state_dict`` layout; ``plan.formula`` records that the original formula is unknown.
    """
    irreps_in = list(state["irreps_in"])
    q = state["_buffers"]["change_of_basis"]
    letters = "".join(chr(ord("a") + k) for k in range(len(irreps_in)))
    module = cls._from_change_of_basis(
        irreps_in, state["irreps_out"], q, f"{letters} (formula not recorded in the e3nn pickle)"
    )
    return rebuild(module, state, "ReducedTensorProducts")


register(
    Translator(
        "e3torch.o3:ReducedTensorProducts",
        attrs("__codegen__ irreps_in irreps_out"),
        _CODEGEN | attrs("irreps_in irreps_out"),
        _rtp_build,
        lambda cls: cls("ij=ji", i="1o"),
    )
)
