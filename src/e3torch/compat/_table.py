"""Which e3torch object stands behind each name at each e3nn 0.6.0 import path.

``TABLE[path]`` lists, for the compat module ``e3torch.compat.<path>`` (that is ``e3nn.<path>`` under the hook), the
names it exports and where each comes from, as ``(source, "name name alias=attr ...")`` pairs. A source is

- a module path (``"e3torch.o3"``): the attribute of that name (or ``attr``, for ``alias=attr``) of that module;
- ``"@"`` followed by a compat package (``"@o3"``, ``"@"`` for the top level): the compat *submodule* of that name,
  e.g. ``("@o3", "_irreps")`` is the module ``e3torch.compat.o3._irreps``;
- ``"@@"``: the compat module named by the name itself (``"o3"`` -> ``e3torch.compat.o3``,
  ``"perm=math.perm"`` -> ``e3torch.compat.math.perm``, ``"e3nn="`` -> ``e3torch.compat``).

A name whose source does not (yet) provide it is simply left out: the compat layer grows as e3torch modules land.
``tests/compat/test_names.py`` compares every module with e3nn's ``dir()`` and keeps the list of what is missing.

Examples
--------
>>> from e3torch.compat._table import TABLE
>>> ("e3torch.o3", "Irrep Irreps _MulIr=_irreps._MulIr") in TABLE["o3._irreps"]
True
"""

from __future__ import annotations

__all__ = ["TABLE"]

_ROTATIONS = (
    "angles_to_axis_angle angles_to_matrix angles_to_quaternion angles_to_xyz axis_angle_to_angles "
    "axis_angle_to_matrix axis_angle_to_quaternion compose_angles compose_axis_angle compose_quaternion "
    "identity_angles identity_quaternion inverse_angles inverse_quaternion matrix_to_angles matrix_to_axis_angle "
    "matrix_to_quaternion matrix_x matrix_y matrix_z quaternion_to_angles quaternion_to_axis_angle "
    "quaternion_to_matrix rand_angles rand_axis_angle rand_matrix rand_quaternion xyz_to_angles"
)
_WIGNER = "change_basis_real_to_complex so3_generators su2_generators wigner_3j wigner_D"
_TP = "ElementwiseTensorProduct FullTensorProduct FullyConnectedTensorProduct Instruction TensorProduct TensorSquare"
_MATH = (
    "bessel complete_basis direct_sum germinate_formulas moment normalize2mom orthonormalize "
    "reduce_permutation soft_one_hot_linspace soft_unit_step"
)
_JIT = "e3torch.compat.util.jit"
_OPT = "e3torch.compat._options"
_MIXIN = "e3torch.compat.util.codegen._mixin"
_DEFAULT_TYPE = "e3torch.compat.util.default_type"
_LEGACY = "e3torch.compat._legacy"

TABLE: dict[str, list[tuple[str, str]]] = {
    "": [("@@", "o3 nn io math util"), (_OPT, "get_optimization_defaults set_optimization_defaults")],
    # --- o3 ---
    "o3": [
        ("e3torch.o3", "Irrep Irreps Linear Norm ReducedTensorProducts SphericalHarmonics SphericalHarmonicsAlphaBeta"),
        ("e3torch.o3", "Legendre FromS2Grid ToS2Grid SO3Grid irfft rfft s2_grid spherical_harmonics_s2_grid"),
        ("e3torch.o3", "spherical_harmonics spherical_harmonics_alpha spherical_harmonics_alpha_beta"),
        ("e3torch.o3", _TP + " FullTensorProductv2"),
        ("e3torch.o3", _ROTATIONS + " " + _WIGNER),
        ("@o3", "_irreps _linear _norm _reduce _rotation _s2grid _so3grid _spherical_harmonics _tensor_product"),
        ("@o3", "_wigner irrep _angular_spherical_harmonics experimental"),
    ],
    "o3._irreps": [
        ("e3torch.o3", "Irrep Irreps _MulIr=_irreps._MulIr"),
        ("e3torch.math", "direct_sum"),
        ("@o3", "_rotation _wigner"),
        ("@@", "perm=math.perm"),
    ],
    "o3.irrep": [("e3torch.o3", "Irrep")],
    "o3._linear": [
        ("e3torch.o3._linear", "Linear Instruction LinearSlices"),
        ("e3torch.o3", "Irreps"),
        (_MIXIN, "CodeGenMixin"),
        (_JIT, "compile_mode"),
        ("e3torch.compat.util", "prod"),
        ("@@", "e3nn="),
    ],
    "o3._spherical_harmonics": [
        ("e3torch.o3", "Irreps SphericalHarmonics spherical_harmonics"),
        ("e3torch.o3._spherical_harmonics", "_spherical_harmonics"),
        (_LEGACY, "_spherical_harmonics"),
        (_JIT, "compile_mode"),
        (_OPT, "get_optimization_defaults"),
    ],
    "o3._angular_spherical_harmonics": [
        ("e3torch.o3", "Legendre SphericalHarmonicsAlphaBeta spherical_harmonics_alpha spherical_harmonics_alpha_beta"),
        (_JIT, "compile_mode"),
        (_OPT, "get_optimization_defaults"),
        ("@@", "o3"),
    ],
    "o3._wigner": [("e3torch.o3", _WIGNER), (_DEFAULT_TYPE, "explicit_default_types")],
    "o3._rotation": [("e3torch.o3", _ROTATIONS)],
    "o3._tensor_product": [("e3torch.o3", _TP), ("@o3._tensor_product", "_instruction _sub _tensor_product")],
    "o3._tensor_product._tensor_product": [
        ("e3torch.o3", "Instruction Irreps TensorProduct"),
        (_MIXIN, "CodeGenMixin"),
        (_JIT, "compile_mode"),
        ("e3torch.compat.util", "prod"),
        ("@@", "e3nn="),
    ],
    "o3._tensor_product._sub": [
        ("e3torch.o3", "ElementwiseTensorProduct FullTensorProduct FullyConnectedTensorProduct TensorSquare"),
        ("e3torch.o3", "Irrep Irreps TensorProduct"),
        ("e3torch.compat.util", "prod"),
    ],
    "o3._tensor_product._instruction": [("e3torch.o3", "Instruction")],
    "o3._norm": [("e3torch.o3", "Irreps Norm TensorProduct"), (_JIT, "compile_mode")],
    "o3._reduce": [
        ("e3torch.o3", "Irrep Irreps ReducedTensorProducts TensorProduct wigner_3j"),
        ("e3torch.math", "germinate_formulas orthonormalize reduce_permutation"),
        (_MIXIN, "CodeGenMixin"),
        (_JIT, "compile_mode"),
        (_DEFAULT_TYPE, "explicit_default_types"),
    ],
    "o3._s2grid": [
        ("e3torch.o3", "FromS2Grid ToS2Grid irfft rfft s2_grid spherical_harmonics_s2_grid"),
        (_JIT, "compile_mode"),
        (_DEFAULT_TYPE, "explicit_default_types"),
        ("@@", "o3"),
    ],
    "o3._so3grid": [
        ("e3torch.o3", "SO3Grid s2_grid wigner_D"),
        ("e3torch.o3._so3grid", "flat_wigner"),
        (_JIT, "compile_mode"),
    ],
    "o3.experimental": [
        ("e3torch.o3.experimental", "FullTensorProductv2 ElementwiseTensorProductv2"),
        ("@o3.experimental", "_full_tp _elementwise_tp"),
    ],
    "o3.experimental._full_tp": [
        ("e3torch.o3.experimental", "FullTensorProduct=FullTensorProductv2"),
        ("e3torch.compat.util.datatypes", "Chunk Path"),
        ("@@", "o3"),
    ],
    "o3.experimental._elementwise_tp": [
        ("e3torch.o3.experimental", "ElementwiseTensorProduct=ElementwiseTensorProductv2"),
        ("e3torch.compat.util.datatypes", "Chunk Path"),
        ("@@", "o3"),
    ],
    # --- nn ---
    "nn": [
        ("e3torch.nn", "Activation BatchNorm Dropout Extract ExtractIr FullyConnectedNet Gate Identity NormActivation"),
        ("e3torch.nn", "S2Activation SO3Activation"),
        ("@nn", "_activation _batchnorm _dropout _extract _fc _gate _identity _normact _s2act _so3act models"),
    ],
    "nn._gate": [
        ("e3torch.nn", "Activation Extract Gate"),
        ("e3torch.o3", "ElementwiseTensorProduct Irreps"),
        (_LEGACY, "_Sortcut"),
        (_JIT, "compile_mode"),
    ],
    "nn._normact": [
        ("e3torch.nn", "NormActivation"),
        ("e3torch.o3", "ElementwiseTensorProduct Irreps Norm"),
        (_JIT, "compile_mode"),
    ],
    "nn._fc": [
        ("e3torch.nn", "FullyConnectedNet _Layer=_fc._Layer"),
        ("e3torch.math", "normalize2mom"),
        (_JIT, "compile_mode"),
    ],
    "nn._activation": [
        ("e3torch.nn", "Activation"),
        ("e3torch.o3", "Irreps"),
        ("e3torch.math", "normalize2mom"),
        (_JIT, "compile_mode"),
    ],
    "nn._extract": [
        ("e3torch.nn", "Extract ExtractIr"),
        ("e3torch.o3", "Irrep Irreps"),
        (_MIXIN, "CodeGenMixin"),
        (_JIT, "compile_mode"),
    ],
    "nn._batchnorm": [("e3torch.nn", "BatchNorm"), (_JIT, "compile_mode"), ("@@", "o3")],
    "nn._dropout": [("e3torch.nn", "Dropout"), (_JIT, "compile_mode"), ("@@", "o3")],
    "nn._identity": [("e3torch.nn", "Identity"), (_JIT, "compile_mode"), ("@@", "o3")],
    "nn._s2act": [
        ("e3torch.nn", "S2Activation"),
        ("e3torch.math", "normalize2mom"),
        (_JIT, "compile_mode"),
        ("@@", "o3"),
    ],
    "nn._so3act": [
        ("e3torch.nn", "SO3Activation"),
        ("e3torch.o3", "SO3Grid"),
        ("e3torch.math", "normalize2mom"),
        (_JIT, "compile_mode"),
    ],
    "nn.models": [("@nn.models", "gate_points_2101 gate_points_2102 v2106")],
    "nn.models.gate_points_2101": [
        ("e3torch.models", "Compose Convolution Network radius_graph smooth_cutoff tp_path_exists"),
        ("e3torch.models._gate_points", "scatter"),  # the helpers are shared with the 2102 and v2106 ports
        ("e3torch.nn", "FullyConnectedNet Gate"),
        ("e3torch.o3", "FullyConnectedTensorProduct TensorProduct"),
        ("e3torch.math", "soft_one_hot_linspace"),
        (_JIT, "compile_mode"),
        ("@@", "o3 math"),
    ],
    "nn.models.gate_points_2102": [
        ("e3torch.models._gate_points_2102", "Compose Convolution Network"),
        ("e3torch.models._gate_points_2102", "radius_graph scatter smooth_cutoff tp_path_exists"),
        ("e3torch.nn", "ExtractIr FullyConnectedNet Gate"),
        ("e3torch.o3", "FullyConnectedTensorProduct TensorProduct"),
        ("e3torch.math", "soft_one_hot_linspace"),
        (_JIT, "compile_mode"),
        ("@@", "o3"),
    ],
    "nn.models.v2106": [
        ("@nn.models.v2106", "gate_points_message_passing gate_points_networks points_convolution"),
    ],
    "nn.models.v2106.points_convolution": [
        ("e3torch.models._gate_points_v2106", "Convolution scatter"),
        ("e3torch.nn", "FullyConnectedNet"),
        ("e3torch.o3", "FullyConnectedTensorProduct TensorProduct"),
        (_JIT, "compile_mode"),
        ("@@", "o3"),
    ],
    "nn.models.v2106.gate_points_message_passing": [
        ("e3torch.models._gate_points_v2106", "Compose Convolution MessagePassing"),
        ("e3torch.models._gate_points_v2106", "radius_graph tp_path_exists"),
        ("e3torch.nn", "Gate"),
        ("@@", "o3"),
    ],
    "nn.models.v2106.gate_points_networks": [
        ("e3torch.models._gate_points_v2106", "MessagePassing NetworkForAGraphWithAttributes SimpleNetwork"),
        ("e3torch.models._gate_points_v2106", "radius_graph scatter"),
        ("e3torch.math", "soft_one_hot_linspace"),
        ("@@", "o3"),
    ],
    # --- io ---
    "io": [("e3torch.io", "CartesianTensor SphericalTensor"), ("@io", "_cartesian_tensor _spherical_tensor")],
    "io._cartesian_tensor": [
        ("e3torch.io", "CartesianTensor"),
        ("e3torch.o3", "Irreps ReducedTensorProducts"),
    ],
    "io._spherical_tensor": [
        ("e3torch.io", "SphericalTensor"),
        ("e3torch.o3", "FromS2Grid ToS2Grid"),
        ("math", "pi"),
        ("@@", "o3"),
    ],
    # --- math ---
    "math": [
        ("e3torch.math", _MATH),
        ("@math", "_bessel _linalg _normalize_activation _reduce _soft_one_hot_linspace _soft_unit_step perm"),
    ],
    "math._normalize_activation": [
        ("e3torch.math", "moment normalize2mom"),
        (_JIT, "compile_mode"),
        (_DEFAULT_TYPE, "explicit_default_types"),
    ],
    "math._soft_one_hot_linspace": [("e3torch.math", "soft_one_hot_linspace soft_unit_step")],
    "math._soft_unit_step": [("e3torch.math", "soft_unit_step")],
    "math._bessel": [("e3torch.math", "bessel")],
    "math._linalg": [("e3torch.math", "complete_basis direct_sum orthonormalize"), (_OPT, "get_optimization_defaults")],
    "math._reduce": [("e3torch.math", "germinate_formulas reduce_permutation"), ("@@", "perm=math.perm")],
    "math.perm": [
        ("e3torch.math.perm", "compose from_int germinate group identity inverse is_group is_perm"),
        ("e3torch.math.perm", "natural_representation rand sign standard_representation to_cycles to_int"),
        ("e3torch.math.perm", "TY_PERM"),
        ("e3torch.math", "complete_basis"),
    ],
    # --- util ---
    "util": [
        ("@util", "codegen datatypes default_type jit test"),
        (_DEFAULT_TYPE, "explicit_default_types torch_get_default_device torch_get_default_tensor_type"),
    ],
    "util.jit": [(_OPT, "get_optimization_defaults set_optimization_defaults")],
    "util.codegen": [(_MIXIN, "CodeGenMixin"), ("@util.codegen", "_mixin")],
    "util.codegen._mixin": [("@@", "e3nn=")],
    "util.default_type": [],
    "util.datatypes": [],
    "util.test": [
        (
            "e3torch.util.test",
            "FLOAT_TOLERANCE assert_auto_jitable assert_equivariant assert_normalized assert_torch_compile "
            "equivariance_error float_tolerance format_equivariance_error random_irreps set_random_seeds",
        ),
        (_JIT, "compile get_compile_mode get_tracing_inputs"),
        (_OPT, "get_optimization_defaults set_optimization_defaults"),
        ("@@", "o3"),
    ],
}
