"""Translators from pickled e3nn ``nn`` (and ``io``) modules to e3torch (see :mod:`e3torch.compat._pickle`).

Containers are rebuilt from their own arguments; the activation functions come from the e3nn state of their
already unpickled children (:func:`~e3torch.compat._pickle.e3nn_state_of`), and the normalization constants of the
rebuilt activations are set to the pickled ones, so the loaded model computes exactly what it computed in e3nn.

Examples
--------
>>> from e3torch.compat._pickle import registered
>>> "e3torch.nn:Gate" in registered()
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from e3torch.compat._pickle import Translator, attrs, e3nn_state_of, rebuild, register

__all__: list[str] = []


def _function(act: Any) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """The user function inside a (pickled) ``normalize2mom``; ``None`` stays ``None``."""
    if act is None:
        return None
    state = e3nn_state_of(act)
    if state is not None and "f" in state:
        return state["f"]
    return getattr(act, "f", act)


def _normalized(module: torch.nn.Module) -> list[Any]:
    return [m for m in module.modules() if hasattr(m, "cst") and hasattr(m, "f")]


def _copy_constants(new: torch.nn.Module, state: dict[str, Any]) -> None:
    """Give the rebuilt module's normalized activations the pickled constants (same order, same functions)."""
    holder = torch.nn.Module()
    holder.__dict__["_modules"] = state.get("_modules", {})
    old = _normalized(holder)
    fresh = _normalized(new)
    if len(old) != len(fresh):
        return
    for a, b in zip(old, fresh):
        if _function(a) is _function(b) and hasattr(a, "cst"):
            b.cst = a.cst
            if hasattr(a, "_is_id"):
                b._is_id = a._is_id


def _child(state: dict[str, Any], name: str) -> Any:
    return state["_modules"][name]


def _child_state(state: dict[str, Any], name: str) -> dict[str, Any]:
    child = _child(state, name)
    return e3nn_state_of(child) or vars(child)


def _finish(module: torch.nn.Module, state: dict[str, Any], what: str) -> torch.nn.Module:
    module = rebuild(module, state, what)
    _copy_constants(module, state)
    return module


# --- activations, gate ---


def _activation_acts(state: dict[str, Any]) -> list[Any]:
    if "paths" in state:  # e3nn 0.5+
        return [_function(act) for _, _, act in state["paths"]]
    return [_function(act) for act in state["_modules"]["acts"]]  # e3nn 0.4: one entry (or None) per term


def _activation_build(state: dict[str, Any], cls: type) -> torch.nn.Module:
    return _finish(cls(state["irreps_in"], _activation_acts(state)), state, "Activation")


register(
    Translator(
        "e3torch.nn:Activation", attrs("irreps_in irreps_out paths"), attrs("irreps_in irreps_out"),
        _activation_build, lambda cls: cls("1x0e+1x1o", [torch.tanh, None]),
    )
)


def _gate_build(state: dict[str, Any], cls: type) -> torch.nn.Module:
    scalars, gates = _child_state(state, "act_scalars"), _child_state(state, "act_gates")
    module = cls(
        scalars["irreps_in"], _activation_acts(scalars), gates["irreps_in"], _activation_acts(gates),
        state["irreps_gated"],
    )
    return _finish(module, state, "Gate")


register(
    Translator(
        "e3torch.nn:Gate", attrs("_irreps_in _irreps_out irreps_gated irreps_gates irreps_scalars"),
        attrs("_irreps_in _irreps_out irreps_gated irreps_gates irreps_scalars"), _gate_build,
        lambda cls: cls("1x0e", [torch.tanh], "1x0e", [torch.sigmoid], "1x1o"),
    )
)


def _sortcut_build(state: dict[str, Any], cls: type) -> torch.nn.Module:
    return rebuild(cls(*state["irreps_outs"]), state, "_Sortcut")


register(
    Translator(
        "e3torch.compat._legacy:_Sortcut", attrs("irreps_in irreps_outs"), attrs("irreps_in irreps_outs"),
        _sortcut_build, lambda cls: cls("1x0e", "1x1o"),
    )
)


def _norm_act_build(state: dict[str, Any], cls: type) -> torch.nn.Module:
    module = cls(
        state["irreps_in"], state["scalar_nonlinearity"], normalize=state["normalize"], epsilon=state["epsilon"],
        bias=state["bias"],
    )
    return _finish(module, state, "NormActivation")


_NORM_ACT_ATTRS = attrs("_eps_squared bias epsilon irreps_in irreps_out normalize scalar_nonlinearity")
register(
    Translator(
        "e3torch.nn:NormActivation", _NORM_ACT_ATTRS, _NORM_ACT_ATTRS, _norm_act_build,
        lambda cls: cls("1x1o", torch.sigmoid),
    )
)

# --- fully connected network ---


def _layer_build(state: dict[str, Any], cls: type) -> torch.nn.Module:
    module = cls(state["h_in"], state["h_out"], state["act"], state["var_in"], state["var_out"])
    return rebuild(module, state, "_Layer")


register(
    Translator(
        "e3torch.nn._fc:_Layer", attrs("_profiling_str act h_in h_out var_in var_out"),
        attrs("act h_in h_out var_in var_out"), _layer_build, lambda cls: cls(2, 3, None, 1.0, 1.0),
    )
)


def _fc_build(state: dict[str, Any], cls: type) -> torch.nn.Module:
    hs = list(state["hs"])
    layers = [_child_state(state, f"layer{i}") for i in range(len(hs) - 1)]
    if not layers:
        raise ValueError(f"cannot rebuild the pickled e3nn FullyConnectedNet: hs={hs} has no layer")
    act = next((_function(layer["act"]) for layer in layers if layer["act"] is not None), None)
    out_act = layers[-1]["act"] is not None
    module = cls(hs, act, layers[0]["var_in"], layers[-1]["var_out"], out_act)
    return _finish(module, state, "FullyConnectedNet")


register(
    Translator(
        "e3torch.nn:FullyConnectedNet", attrs("hs"), attrs("hs"), _fc_build, lambda cls: cls([2, 3, 1], torch.tanh)
    )
)

# --- extract ---


def _squeezed(state: dict[str, Any]) -> bool:
    """Whether e3nn's generated forward returns a bare tensor (``squeeze_out=True``) rather than a tuple."""
    from e3torch.compat.util.codegen._mixin import load_codegen_payload

    payload = (state.get("__codegen__") or {}).get("_compiled_forward")
    if payload is None:
        return False
    generated = load_codegen_payload("_compiled_forward", payload)
    with torch.no_grad():
        out = generated(torch.zeros(1, state["irreps_in"].dim))
    return not isinstance(out, (tuple, list))


def _extract_build(state: dict[str, Any], cls: type) -> torch.nn.Module:
    squeeze_out = _squeezed(state) and len(state["irreps_outs"]) == 1
    module = cls(state["irreps_in"], state["irreps_outs"], state["instructions"], squeeze_out=squeeze_out)
    return rebuild(module, state, "Extract")


register(
    Translator(
        "e3torch.nn:Extract", attrs("__codegen__ instructions irreps_in irreps_outs"),
        attrs("__codegen__ instructions irreps_in irreps_outs"), _extract_build,
        lambda cls: cls("1x0e+1x1o", ["1x0e"], [(0,)]),
    )
)


def _extract_ir_build(state: dict[str, Any], cls: type) -> torch.nn.Module:
    irs = {ir for _, ir in state["irreps_out"]}
    if len(irs) != 1:
        raise ValueError(
            f"cannot rebuild the pickled e3nn ExtractIr: its irreps_out {state['irreps_out']} do not name one irrep"
        )
    return rebuild(cls(state["irreps_in"], irs.pop()), state, "ExtractIr")


register(
    Translator(
        "e3torch.nn:ExtractIr", attrs("__codegen__ instructions irreps_in irreps_out irreps_outs"),
        attrs("__codegen__ instructions irreps_in irreps_out irreps_outs"), _extract_ir_build,
        lambda cls: cls("1x0e+1x1o", "1o"),
    )
)

# --- batch norm, dropout, identity ---

_BN_ATTRS = attrs("affine eps features include_bias instance irreps irs momentum normalization reduce")


def _bn_build(state: dict[str, Any], cls: type) -> torch.nn.Module:
    module = cls(
        state["irreps"], eps=state["eps"], momentum=state["momentum"], affine=state["affine"],
        reduce=state["reduce"], instance=state["instance"], include_bias=state.get("include_bias", True),
        normalization=state["normalization"],
    )
    return rebuild(module, state, "BatchNorm")


register(
    Translator(
        "e3torch.nn:BatchNorm", _BN_ATTRS, attrs("affine eps instance irreps momentum normalization reduce"),
        _bn_build, lambda cls: cls("1x0e+1x1o"),
    )
)
register(
    Translator(
        "e3torch.nn:Dropout", attrs("irreps p"), attrs("irreps p"),
        lambda state, cls: rebuild(cls(state["irreps"], state["p"]), state, "Dropout"),
        lambda cls: cls("1x0e+1x1o", 0.5),
    )
)
register(
    Translator(
        "e3torch.nn:Identity", attrs("irreps_in irreps_out"), attrs("irreps_in irreps_out"),
        lambda state, cls: rebuild(cls(state["irreps_in"], state["irreps_out"]), state, "Identity"),
        lambda cls: cls("1x0e", "1x0e"),
    )
)

# --- activations on the sphere and on SO(3) ---


def _s2act_build(state: dict[str, Any], cls: type) -> torch.nn.Module:
    to_s2, from_s2 = _child_state(state, "to_s2"), _child_state(state, "from_s2")
    module = cls(
        state["irreps_in"], _function(_child(state, "act")), (to_s2["res_beta"], to_s2["res_alpha"]),
        lmax_out=from_s2["lmax"], random_rot=state["random_rot"],
    )
    return _finish(module, state, "S2Activation")


register(
    Translator(
        "e3torch.nn:S2Activation", attrs("irreps_in irreps_out random_rot"), attrs("irreps_in irreps_out random_rot"),
        _s2act_build, lambda cls: cls("0e+1o", torch.tanh, 6),
    )
)


def _so3act_build(state: dict[str, Any], cls: type) -> torch.nn.Module:
    grid = _child_state(state, "grid_in")
    module = cls(
        state["lmax_in"], state["lmax_out"], _function(_child(state, "act")), grid["res_beta"] // 2,
        aspect_ratio=grid["res_alpha"] // grid["res_beta"],
    )
    return _finish(module, state, "SO3Activation")


register(
    Translator(
        "e3torch.nn:SO3Activation", attrs("lmax_in lmax_out"), attrs("lmax_in lmax_out"), _so3act_build,
        lambda cls: cls(1, 1, torch.tanh, 6),
    )
)

# --- nn.models.gate_points_2101 ---


def _convolution_build(state: dict[str, Any], cls: type) -> torch.nn.Module:
    hs = list(_child_state(state, "fc")["hs"])
    module = cls(
        state["irreps_in"], state["irreps_node_attr"], state["irreps_edge_attr"], state["irreps_out"],
        number_of_basis=hs[0], radial_layers=len(hs) - 2, radial_neurons=hs[1] if len(hs) > 2 else hs[-1],
        num_neighbors=state["num_neighbors"],
    )
    return _finish(module, state, "Convolution")


_CONV_ATTRS = attrs("irreps_edge_attr irreps_in irreps_node_attr irreps_out num_neighbors")
register(
    Translator(
        "e3torch.models:Convolution", _CONV_ATTRS, _CONV_ATTRS, _convolution_build,
        lambda cls: cls("2x0e", "1x0e", "0e+1o", "2x0e", 4, 1, 8, 3.0),
    )
)
