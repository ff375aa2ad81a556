"""Write the uncompressed kernel (an ELF with a PVH entry) out of Debian's xz-compressed
bzImage: microvm boots it directly, which skips the xz decompression that costs several
seconds under TCG. Usage: vm_kernel.py VMLINUZ VMLINUX (from scripts/build-vm-image.sh)."""
import lzma
import sys

b = open(sys.argv[1], "rb").read()
i = b.find(b"\xfd7zXZ\x00")
out = lzma.LZMADecompressor().decompress(b[i:]) if i > 0 else b""
if out[:4] != b"\x7fELF":
    sys.exit("build-vm-image: no xz-compressed ELF in the kernel image; the runtime boots vmlinuz")
with open(sys.argv[2], "wb") as f:
    f.write(out)
