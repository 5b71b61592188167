"""Reading image zips safely: nothing is ever written outside a target, bombs are refused.

Members are flattened to their file name; the caller writes them itself (no extractall), so a
member can only become ``target/<file name>``. Members whose path is unsafe (``..``, absolute,
drive letter, control characters, symlinks), OS junk (``__MACOSX/``, ``._*``, ``.DS_Store``...),
later members that flatten to an already used name, and members larger than the per-image limit
are classified as problems and never read. Folders are skipped.
"""

import re
import stat
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from linerec.errors import PipelineError

MB = 1024 * 1024
_JUNK_FILES = {".ds_store", "thumbs.db", "desktop.ini"}
_DRIVE = re.compile(r"^[A-Za-z]:")
_CHUNK = 1024 * 1024
REDOWNLOAD = ("the archive is damaged or incomplete: download it again (compare its size with "
              "the source's)")


@dataclass(frozen=True)
class Entry:
    info: zipfile.ZipInfo
    path: str            # the member's path as stored (file names decoded as the zip tool meant)
    name: str            # the flattened file name
    problem: tuple       # (kind, detail, action) for a member that is skipped; () when usable


class SafeZip:
    """``with SafeZip(path, max_unpacked_bytes, max_member_bytes) as z: for e in z.entries: ...``

    Opening refuses (PipelineError) a missing, truncated or corrupt zip, an encrypted one, and one
    whose declared unpacked size exceeds ``max_unpacked_bytes``; ``read`` counts the bytes it
    actually inflates against the same limit.
    """

    def __init__(self, path, max_unpacked_bytes, max_member_bytes,
                 limit_name="extract.max_unpacked_mb"):
        self.path = Path(path)
        self.max_unpacked_bytes = max_unpacked_bytes
        self.max_member_bytes = max_member_bytes
        self.limit_name = limit_name
        self.bytes_read = 0
        self.entries = []
        self._file = self._zip = None

    def __enter__(self):
        if not self.path.is_file():
            raise PipelineError("file not found", where=str(self.path),
                                fix="put the competition's zip there, or set data.raw_dir")
        self._file = open(self.path, "rb")  # read-only: the raw file is never modified
        try:
            self._zip = zipfile.ZipFile(self._file)
            infos = self._zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as error:
            self._file.close()
            raise PipelineError(f"not a readable zip archive ({error})", where=str(self.path),
                                fix=REDOWNLOAD) from error
        try:
            self._check_declared_size(infos)
            self.entries = classify(infos, self.max_member_bytes, str(self.path))
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        if self._zip is not None:
            self._zip.close()
        if self._file is not None:
            self._file.close()
        return False

    def _check_declared_size(self, infos):
        declared = sum(info.file_size for info in infos)
        if declared > self.max_unpacked_bytes:
            # The largest member is named so a single bomb can be told from a genuinely big set.
            largest = max(infos, key=lambda info: info.file_size)
            raise PipelineError(
                f"its members would unpack to {size_text(declared)}, more than "
                f"{self.limit_name} = {size_text(self.max_unpacked_bytes)} "
                "(a guard against decompression bombs); the largest member, "
                f"{member_path(largest)!r}, to {size_text(largest.file_size)}",
                where=str(self.path),
                fix=f"if the archive is genuine, raise {self.limit_name} in params.yaml; "
                    "otherwise download it again")

    def read(self, entry):
        """The member's bytes, counting what is inflated against the unpacked-size limit."""
        chunks, size = [], 0
        try:
            with self._zip.open(entry.info) as member:
                while True:
                    chunk = member.read(_CHUNK)
                    if not chunk:
                        break
                    size += len(chunk)
                    self.bytes_read += len(chunk)
                    if size > entry.info.file_size or self.bytes_read > self.max_unpacked_bytes:
                        raise PipelineError(
                            f"member {entry.path!r} inflates to more bytes than declared or past "
                            f"{self.limit_name} = {size_text(self.max_unpacked_bytes)}",
                            where=str(self.path),
                            fix="this is a malformed or malicious archive: download it again")
                    chunks.append(chunk)
        except NotImplementedError as error:
            raise PipelineError(
                f"member {entry.path!r} uses an unsupported compression ({error})",
                where=str(self.path),
                fix="re-create the zip with standard (deflate) compression") from error
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError) as error:
            raise PipelineError(f"member {entry.path!r} cannot be read ({error})",
                                where=str(self.path), fix=REDOWNLOAD) from error
        return b"".join(chunks)


def classify(infos, max_member_bytes, where):
    """One Entry per member that is not a folder, in archive order."""
    entries, used = [], {}
    for info in infos:
        path = member_path(info)
        if info.is_dir() or path.endswith(("/", "\\")):
            continue
        if info.flag_bits & 0x1:
            raise PipelineError(f"member {path!r} is encrypted", where=where,
                                fix="re-create the zip without a password")
        parts = path.replace("\\", "/").split("/")
        name = parts[-1]
        problem = ()
        unsafe = unsafe_reason(path, info)
        if unsafe:
            problem = ("unsafe_path", unsafe, "skipped (nothing written)")
        elif "__MACOSX" in parts[:-1] or name.startswith("._") or name.lower() in _JUNK_FILES:
            problem = ("os_junk", "operating-system metadata, not an image", "skipped")
        elif name in used:
            problem = ("name_collision", f"flattens to {name!r}, like {used[name]!r} before it",
                       f"skipped ({used[name]!r}, the first, is used)")
        elif info.file_size > max_member_bytes:
            problem = ("image_too_large",
                       f"{size_text(info.file_size)}, over extract.max_image_mb = "
                       f"{size_text(max_member_bytes)}", "skipped")
        if not problem:
            used[name] = path
        entries.append(Entry(info, path, name, problem))
    return entries


def size_text(size):
    return f"{size / MB:,.1f} MB" if size >= MB // 10 else f"{size:,} bytes"


def member_path(info):
    """The stored name; a non-UTF-8-flagged name is re-read as UTF-8 or GB18030 when it fits."""
    name = info.filename
    if info.flag_bits & 0x800 or name.isascii():
        return name
    try:
        raw = name.encode("cp437")
    except UnicodeEncodeError:
        return name
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return name


def unsafe_reason(path, info):
    """Why writing this member could escape the target or mislead; '' when it is safe."""
    unix = path.replace("\\", "/")
    parts = unix.split("/")
    if unix.startswith("/"):
        return "absolute path"
    if _DRIVE.match(unix):
        return "Windows drive letter"
    if ".." in parts:
        return "'..' in its path"
    if any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in path):
        return "control character in its name"
    if parts[-1] in ("", ".", ".."):
        return "no file name"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "symbolic link"
    return ""
