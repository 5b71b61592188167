"""Label CSVs: encodings, both layouts, CSV quoting, clear errors, and label clean-up rules."""

import codecs

import pytest

from linerec.data import labels
from linerec.data.problems import ProblemLog
from linerec.errors import PipelineError


def write_csv(tmp_path, text, encoding="utf-8", name="train_label.csv", bom=b""):
    path = tmp_path / name
    path.write_bytes(bom + text.encode(encoding))
    return path


def test_gb18030_file_with_a_gbk_only_character(tmp_path):
    # 镕 and 堃 are in GBK (and GB18030) but not in GB2312.
    for ch in "镕堃":
        with pytest.raises(UnicodeEncodeError):
            ch.encode("gb2312")
    path = write_csv(tmp_path, "name,value\n0.jpg,朱镕基\n1.jpg,堃记小吃\n", encoding="gb18030")
    table = labels.read_label_csv(path)
    assert table.encoding == "gb18030"
    assert [(r.name, r.value) for r in table.rows] == [("0.jpg", "朱镕基"), ("1.jpg", "堃记小吃")]


def test_utf8_with_bom_keeps_the_bom_out_of_the_header(tmp_path):
    path = write_csv(tmp_path, "name,value\n0.jpg,中文\n", bom=codecs.BOM_UTF8)
    table = labels.read_label_csv(path)
    assert table.encoding == "utf-8-sig"
    assert table.columns == ("name", "value")
    assert table.rows[0].name == "0.jpg"


def test_plain_utf8_is_tried_first(tmp_path):
    table = labels.read_label_csv(write_csv(tmp_path, "name,value\n0.jpg,中文\n"))
    assert table.encoding == "utf-8"


def test_four_column_form(tmp_path):
    text = "width,height,name,value\n120,32,0.jpg,拉拉\n96,30,1.jpg,ＡＢＣ\n"
    table = labels.read_label_csv(write_csv(tmp_path, text))
    assert [(r.name, r.value) for r in table.rows] == [("0.jpg", "拉拉"), ("1.jpg", "ＡＢＣ")]


def test_quoted_fields_windows_line_endings_and_blank_lines(tmp_path):
    text = ('name,value\r\n\r\n"0.jpg","a,b"\r\n1.jpg,"say ""hi"""\r\n  \r\n,\r\n'
            '2.jpg,"two\r\nlines"\r\n3.jpg,end\r\n')
    table = labels.read_label_csv(write_csv(tmp_path, text))
    assert [(r.line, r.name, r.value) for r in table.rows] == [
        (3, "0.jpg", "a,b"), (4, "1.jpg", 'say "hi"'), (7, "2.jpg", "two\r\nlines"),
        (9, "3.jpg", "end")]
    assert table.blank_rows == 3


def test_missing_column_names_file_row_and_fix(tmp_path):
    path = write_csv(tmp_path, "file,text\n0.jpg,a\n")
    with pytest.raises(PipelineError) as caught:
        labels.read_label_csv(path)
    error = caught.value
    assert str(path) in error.where and "line 1" in error.where
    assert "'name'" in error.problem and "'value'" in error.problem
    assert "name,value" in error.fix


def test_wrong_column_count_names_the_row(tmp_path):
    path = write_csv(tmp_path, "name,value\n0.jpg,a\n1.jpg,b,c\n")
    with pytest.raises(PipelineError) as caught:
        labels.read_label_csv(path)
    assert caught.value.where.endswith("line 3")
    assert "3 fields" in caught.value.problem and "quote" in caught.value.fix


def test_undecodable_bytes_name_line_and_offset(tmp_path):
    data = "name,value\n0.jpg,ok\n".encode() + b"1.jpg,\xff\xfe\xff\n"
    path = tmp_path / "train_label.csv"
    path.write_bytes(data)
    with pytest.raises(PipelineError) as caught:
        labels.read_label_csv(path)
    error = caught.value
    offset = data.index(b"\xff")
    assert error.where == str(path)
    assert "line 3" in error.problem and f"byte offset {offset}" in error.problem
    assert "UTF-8" in error.fix and "GB18030" in error.fix


def test_damaged_utf8_is_an_error_not_gb18030_mojibake(tmp_path):
    good = "".join(f"{i}.jpg,中文标签内容\n" for i in range(20)).encode()
    data = b"name,value\n" + good + b"20.jpg,\xe4\xb8\n"  # a cut-off character
    path = tmp_path / "train_label.csv"
    path.write_bytes(data)
    with pytest.raises(PipelineError) as caught:
        labels.read_label_csv(path)
    assert "line 22" in caught.value.problem and "UTF-8" in caught.value.problem


def test_utf16_is_refused_with_a_fix(tmp_path):
    path = tmp_path / "train_label.csv"
    path.write_bytes("name,value\n0.jpg,a\n".encode("utf-16"))
    with pytest.raises(PipelineError, match="UTF-16"):
        labels.read_label_csv(path)


@pytest.mark.parametrize("value, expected, changed", [
    ("a\tb", "a b", True),
    ("a\r\nb", "a b", True),
    ("a\x00b\x07", "ab", True),
    ("  ＡＢ，１２　x ", "  ＡＢ，１２　x ", False),   # full-width forms and spaces kept as given
    ("café", "café", False),
])
def test_clean_label(value, expected, changed):
    label, note = labels.clean_label(value)
    assert label == expected
    assert bool(note) == changed


def test_collect_labels_rules(tmp_path):
    text = ("name,value\n0.jpg,first\n1.jpg,\n0.jpg,second\n2.jpg,a\tb\n3.jpg,\"\x00\"\n"
            ",orphan\n4.jpg,ok\n")
    table = labels.read_label_csv(write_csv(tmp_path, text))
    log = ProblemLog()
    kept = labels.collect_labels(table, log)
    assert {name: row.value for name, row in kept.items()} == {
        "0.jpg": "first", "2.jpg": "a b", "4.jpg": "ok"}
    assert list(kept) == ["0.jpg", "2.jpg", "4.jpg"]  # CSV order
    found = [(p.row, p.kind) for p in log.problems]
    assert found == [("3", "empty_label"), ("4", "duplicate_name"),
                     ("5", "label_control_chars"), ("6", "label_control_chars"),
                     ("6", "empty_label"), ("7", "empty_name")]
    assert log.counts()["duplicate_name"] == 1
    tsv_lines = log.to_tsv().split("\n")[:-1]
    assert len(tsv_lines) == 1 + len(log.problems)
    assert all(len(line.split("\t")) == 4 for line in tsv_lines)
