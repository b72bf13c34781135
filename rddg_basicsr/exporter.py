"""An EnlighteningNet as an ONNX graph (the library side of ``rddg-export``): any batch, height and width, fp32 or
fp16, checked and compared with PyTorch before anyone writes it.

The graph: input ``INPUT`` (N, 3, H, W) RGB in [0, 1], float32 (float16 for an fp16 export), any N, H and W; output
``OUTPUT`` the same shape and type, RGB in [0, 1]. Needs ``onnx`` and ``onnxscript`` (torch's exporter);
``onnxruntime`` for the comparison.
"""
import copy

import torch
from torch import nn
from torch.nn import functional as F

INPUT, OUTPUT = 'input', 'output'
DEFAULT_OPSET = 18  # the lowest torch's exporter writes (asked for 17, it fails on Pad); onnxruntime >= 1.14
# by fp16: the largest max abs error against PyTorch fp32 a check accepts (fp32 rounding; fp16: one 8-bit level)
TOLERANCE = {False: 1e-4, True: 1 / 255}
DIM_NAMES = {0: 'batch', 2: 'height', 3: 'width'}  # the free axes of input and output
CHECK_SIZE = (67, 93)  # (H, W) of the random check input: not a multiple of any down-sampling factor


class AnySize(nn.Module):
    """``net`` on any (N, C, H, W): replicate-padded to multiples of ``net.multiple``, run, cropped back to H x W.

    EnlighteningNet pads itself (replicate, to the same multiples; its output sigmoid is per pixel, so the output is
    the same), but behind a Python ``if`` that tracing fixes at the example's size; padding here first, with the size
    arithmetic kept in the graph, makes that ``if`` false at every size.
    """

    def __init__(self, net):
        super().__init__()
        self.net = net
        self.multiple = net.multiple

    def forward(self, x):
        h, w = x.shape[-2:]
        pad_h = (h + self.multiple - 1) // self.multiple * self.multiple - h
        pad_w = (w + self.multiple - 1) // self.multiple * self.multiple - w
        return self.net(F.pad(x, (0, pad_w, 0, pad_h), mode='replicate'))[..., :h, :w]


def export_onnx(net, fp16=False, opset=DEFAULT_OPSET):
    """The serialized ONNX model (bytes) of EnlighteningNet ``net`` (left unchanged; a copy is exported on the CPU,
    in fp16 when asked), with a dynamic batch, height and width (module docstring)."""
    model = AnySize(copy.deepcopy(net)).to('cpu', torch.float16 if fp16 else torch.float32,
                                          memory_format=torch.contiguous_format).eval()
    example = torch.rand(1, net.conv_first.in_channels, *CHECK_SIZE, dtype=torch.float16 if fp16 else torch.float32)
    dims = {axis: torch.export.Dim(name) for axis, name in DIM_NAMES.items()}
    program = torch.onnx.export(model, (example, ), input_names=[INPUT], output_names=[OUTPUT], opset_version=opset,
                                dynamic_shapes=(dims, ), dynamo=True, verbose=False)
    proto = program.model_proto
    shape = proto.graph.output[0].type.tensor_type.shape.dim
    for axis, name in DIM_NAMES.items():  # the crop's size expression (e.g. Min(height, ...)) is the input's size
        shape[axis].dim_param = name
    return proto.SerializeToString()


def check_onnx(data):
    """Raise ``onnx.checker.ValidationError`` unless the serialized model ``data`` passes onnx's full check."""
    import onnx

    onnx.checker.check_model(onnx.load_from_string(data), full_check=True)


def onnxruntime_error(data, net, size=CHECK_SIZE, batch=1, seed=0, threads=1):
    """Max abs error of onnxruntime running ``data`` against ``net`` (fp32, on the CPU) on one random input of
    (batch, C, *size) in [0, 1] (cast to the graph's input type), or None when onnxruntime is not installed."""
    try:
        session = inference_session(data, threads)
    except ImportError:
        return None
    x = torch.rand(batch, net.conv_first.in_channels, *size, generator=torch.Generator().manual_seed(seed))
    dtype = 'float16' if session.get_inputs()[0].type == 'tensor(float16)' else 'float32'
    out = session.run([OUTPUT], {INPUT: x.numpy().astype(dtype)})[0]
    with torch.no_grad():
        ref = net(x)
    return float((torch.from_numpy(out).float() - ref).abs().max())


def inference_session(data, threads=1):
    """An onnxruntime CPU session on the serialized model ``data`` with ``threads`` intra-op threads."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(data, options, providers=['CPUExecutionProvider'])
