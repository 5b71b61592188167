"""The order in which a model's forward pass first uses its layers: how weights shipped in
another format (an inference program, an ONNX graph), which keep no Python names, are paired
with our parameters."""

import paddle


def layers_in_forward_order(model, probe_shape):
    """(layers that own tensors, in the order one eval-mode pass over a blank image of
    ``probe_shape`` first calls them; such layers the pass never calls). The model's mode is
    restored afterwards."""
    owners = [layer for layer in model.sublayers(include_self=True)
              if layer.parameters(include_sublayers=False)
              or layer.buffers(include_sublayers=False)]
    called, seen = [], set()

    def record(layer, _inputs):
        if id(layer) not in seen:
            seen.add(id(layer))
            called.append(layer)

    hooks = [layer.register_forward_pre_hook(record) for layer in owners]
    was_training = model.training
    model.eval()
    try:
        with paddle.no_grad():
            model(paddle.zeros([1, *probe_shape], dtype="float32"))
    finally:
        for hook in hooks:
            hook.remove()
        if was_training:
            model.train()
    return called, [layer for layer in owners if id(layer) not in seen]
