"""CRNN (Shi et al., 2015) as PaddleOCR's ch_ppocr v2.0 recognisers: MobileNetV3 or ResNet-vd,
BiLSTM, CTC; trained from scratch or from a PaddleOCR ``.pdparams`` (``pretrained_model``)."""

from linerec.families.base import ModelFamily
from linerec.modeling import pretrained, recognizer
from linerec.modeling.backbones import channels, rec_mobilenet_v3, rec_resnet_vd
from linerec.modeling.heads import rec_ctc_head
from linerec.modeling.necks import rnn


class CRNN(ModelFamily):
    name = "CRNN"
    algorithm = "CRNN"

    def __init__(self, options, image_shape, use_space_char=True, pretrained_model=""):
        options = {key: value for key, value in options.items() if key != "name"}
        super().__init__(options, image_shape, use_space_char)
        self.pretrained_model = pretrained_model

    def describe(self):
        return dict(super().describe(), pretrained_model=self.pretrained_model)

    def build(self, num_classes):
        return recognizer.build_recognizer(self.options, num_classes=num_classes)

    @property
    def starts_pretrained(self):
        return bool(self.pretrained_model)

    def start(self, classes, log=print):
        model = self.build(len(classes))
        if self.pretrained_model:
            log(str(pretrained.load_pretrained(model, self.pretrained_model)))
        return model

    def weight_files(self):
        return [self.pretrained_model] if self.pretrained_model else []

    def code_modules(self):
        return [recognizer, rec_mobilenet_v3, rec_resnet_vd, channels, rnn, rec_ctc_head,
                pretrained]
