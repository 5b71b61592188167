"""Model families: the head-fitting rule, a fitted head that reads what the full one reads, and
code lists (the run fingerprint) that cover every module a built model is made of."""

import inspect

import numpy as np
import pytest

from linerec.charset import read_dictionary
from linerec.decoding import ctc_decoder
from linerec.errors import PipelineError
from linerec.families import family_for
from linerec.families.options import head_characters
from linerec.families.ppocrv4 import shipped_dict_path
from linerec.inference.preprocess import batch_input
from linerec.synth import fonts, render

MOBILE = {"backbone": {"name": "MobileNetV3", "model_name": "small", "scale": 0.5},
          "neck": {"hidden_size": 48}}


def test_the_head_keeps_every_pretrained_character_and_adds_the_labels_new_ones():
    pretrained = list("大小店0")
    assert head_characters(pretrained, list("店☃"), "all", "") == list("大小店0☃")
    assert head_characters(pretrained, list("店☃"), "labels", "0") == list("店0☃")
    assert head_characters(pretrained, list("店"), "common", "", common_chars="小") == list("小店")


@pytest.mark.parametrize("model_cfg", [
    MOBILE, {"name": "PPOCRv4"}, {"name": "PPOCRv6", "variant": "tiny"},
    {"name": "PPOCRv6", "variant": "small"}])
def test_the_fingerprinted_code_covers_every_layer_of_the_built_model(model_cfg):
    family = family_for(model_cfg, [3, 48, 320])
    model = family.build(12)
    listed = {str(path) for path in family.code_files()}
    for layer in model.sublayers(include_self=True):
        module = inspect.getmodule(type(layer))
        if module.__name__.startswith("linerec."):
            assert inspect.getsourcefile(module) in listed, module.__name__


def test_unknown_options_and_names_are_refused_with_the_key():
    with pytest.raises(PipelineError, match="has no option 'heads'"):
        family_for({"name": "PPOCRv4", "heads": "all"}, [3, 48, 320], where="params.yaml: m")
    with pytest.raises(PipelineError, match="unknown model name"):
        family_for({"name": "PPOCRv9"}, [3, 48, 320])


def test_a_head_fitted_to_the_labels_reads_as_the_full_head_does():
    family_all = family_for({"name": "PPOCRv4", "head": "all"}, [3, 48, 320])
    family_cut = family_for({"name": "PPOCRv4", "head": "labels"}, [3, 48, 320])
    texts = ["恒通超市", "营业时间8:00"]
    label_chars = sorted(set("".join(texts)))
    full_chars = family_all.characters([], label_chars)
    cut_chars = family_cut.characters([], label_chars)
    assert full_chars == read_dictionary(shipped_dict_path()) and len(cut_chars) < 50
    face = fonts.faces(fonts.find_fonts())[0]
    rng = np.random.default_rng(0)
    images = [np.asarray(render.render(text, face, rng, 0.0))[:, :, ::-1].copy() for text in texts]
    batch = batch_input(images, [3, 48, 320])
    read = {}
    for name, family, chars in (("full", family_all, full_chars), ("cut", family_cut, cut_chars)):
        model = family.start(family.classes(chars), log=lambda _: None)
        model.eval()
        import paddle

        probabilities = model(paddle.to_tensor(batch)).numpy()
        read[name] = [text for text, _ in ctc_decoder(write_dict(chars), True)(probabilities)]
    assert read["full"] == texts
    assert read["cut"] == read["full"]


def write_dict(chars):
    import tempfile

    handle = tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8")
    handle.write("".join(c + "\n" for c in chars))
    handle.close()
    return handle.name
