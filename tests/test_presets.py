import yaml

from linerec.presets import set_arguments
from tests.conftest import ROOT


def test_the_competition_preset_sets_only_known_params_and_the_reference_recipe():
    preset = yaml.safe_load((ROOT / "presets/competition.yaml").read_text(encoding="utf-8"))
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    for section, values in preset.items():
        assert section in params
        for key in values:
            assert key in params[section], f"{section}.{key} is not a param"
    arguments = set_arguments(preset)
    pairs = dict(a.split("=", 1) for a in arguments[1::2])
    assert pairs["data.dictionary"] == "ppocr_keys_v1"
    assert pairs["data.image_shape"] == "[3,32,320]"
    assert pairs["train_mobile.batch_size"] == "256" and pairs["train_mobile.epochs"] == "500"
    assert pairs["train_mobile.l2"] == "1e-05" and pairs["train_server.l2"] == "4e-05"
    assert pairs["split.val_size"] == "5000" and pairs["train_mobile.warmup_epochs"] == "5"
