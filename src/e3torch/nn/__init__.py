"""e3torch.nn."""

# --- exports ---
from e3torch.nn._activation import Activation
from e3torch.nn._gate import Gate
from e3torch.nn._batchnorm import BatchNorm
from e3torch.nn._normact import NormActivation
from e3torch.nn._fc import FullyConnectedNet
from e3torch.nn._extract import Extract, ExtractIr
from e3torch.nn._dropout import Dropout
from e3torch.nn._identity import Identity
from e3torch.nn._s2act import S2Activation
from e3torch.nn._so3act import SO3Activation
