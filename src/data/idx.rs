//! The IDX format of MNIST and Fashion-MNIST (LeCun et al.), read strictly.
//!
//! An IDX file is a big-endian header, `0x00 0x00 <type> <ndim>`, one u32 per
//! dimension, then the data. MNIST uses unsigned bytes (type `0x08`): images
//! have magic `0x00000803` and dimensions `[n, 28, 28]`, labels magic
//! `0x00000801` and `[n]`. Files may be gzipped (detected from the content,
//! not the name). Every check names the file and what was wrong.
use crate::error::{Error, Result};
use flate2::read::GzDecoder;
use std::io::Read;
use std::path::Path;

/// Magic number of an IDX file of unsigned bytes with 3 dimensions (images).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of unsigned bytes with 1 dimension (labels).
pub const LABELS_MAGIC: u32 = 0x0000_0801;

/// A decoded IDX array of unsigned bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct IdxArray {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

/// Reads a whole file, un-gzipping it if it starts with the gzip magic.
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        gunzip_idx(&raw, path)
    } else {
        Ok(raw)
    }
}

/// Un-gzips an IDX file, reading no more than its header says it holds (plus
/// one byte, so that trailing data is still reported by [`parse_idx_u8`]): a
/// gzip that would expand past that is refused before it fills memory.
pub fn gunzip_idx(gz: &[u8], path: &Path) -> Result<Vec<u8>> {
    let corrupt = |e: std::io::Error| Error::data(path, format!("corrupt or truncated gzip data ({e}); delete the file and fetch it again"));
    let mut reader = GzDecoder::new(gz);
    let mut out = vec![0u8; 4];
    if let Err(e) = reader.read_exact(&mut out) {
        return if e.kind() == std::io::ErrorKind::UnexpectedEof { Ok(Vec::new()) } else { Err(corrupt(e)) };
    }
    let ndim = out[3] as usize;
    if out[2] != 0x08 || !(1..=3).contains(&ndim) {
        // Not an unsigned-byte IDX of 1-3 dimensions: parse_idx_u8 names the magic.
        return Ok(out);
    }
    out.resize(4 + 4 * ndim, 0);
    reader.read_exact(&mut out[4..]).map_err(corrupt)?;
    let body = (0..ndim).try_fold(1u64, |acc, i| {
        let o = 4 + 4 * i;
        acc.checked_mul(u32::from_be_bytes([out[o], out[o + 1], out[o + 2], out[o + 3]]) as u64)
    });
    let Some(body) = body.filter(|&b| b <= MAX_IDX_BYTES) else {
        return Err(Error::data(path, format!("its header claims more than {} GiB of data; this is not an MNIST-format file", MAX_IDX_BYTES >> 30)));
    };
    out.reserve(body.min(64 << 20) as usize);
    reader.take(body + 1).read_to_end(&mut out).map_err(corrupt)?;
    Ok(out)
}

/// The largest IDX body read (MNIST's training images are 47 MB).
const MAX_IDX_BYTES: u64 = 4 << 30;

/// Parses IDX bytes of unsigned-byte type with `expected_ndim` dimensions.
/// `path` only names the source in errors.
pub fn parse_idx_u8(bytes: &[u8], expected_magic: u32, path: &Path) -> Result<IdxArray> {
    if bytes.len() < 4 {
        return Err(Error::data(path, format!("only {} bytes: too short for an IDX header", bytes.len())));
    }
    let magic = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    if magic != expected_magic {
        return Err(Error::data(
            path,
            format!(
                "magic number 0x{magic:08x}, expected 0x{expected_magic:08x} ({}); is this the right file?",
                if expected_magic == IMAGES_MAGIC { "IDX images" } else { "IDX labels" }
            ),
        ));
    }
    let ndim = (magic & 0xff) as usize;
    let header = 4 + 4 * ndim;
    if bytes.len() < header {
        return Err(Error::data(path, format!("truncated header: {} bytes, need {header}", bytes.len())));
    }
    let dims: Vec<usize> = (0..ndim)
        .map(|i| {
            let o = 4 + 4 * i;
            u32::from_be_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]) as usize
        })
        .collect();
    let expected: usize = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| Error::data(path, format!("dimensions {dims:?} overflow")))?;
    let body = bytes.len() - header;
    if body != expected {
        return Err(Error::data(
            path,
            format!(
                "{} data bytes for dimensions {dims:?}, expected {expected} ({}); the file is damaged, fetch it again",
                body,
                if body < expected { "truncated" } else { "trailing bytes" }
            ),
        ));
    }
    Ok(IdxArray { dims, data: bytes[header..].to_vec() })
}

/// Reads an IDX image file (`[n, rows, cols]` of u8), gzipped or not.
pub fn read_images(path: &Path) -> Result<IdxArray> {
    let a = parse_idx_u8(&read_maybe_gz(path)?, IMAGES_MAGIC, path)?;
    if a.dims[1] == 0 || a.dims[2] == 0 {
        return Err(Error::data(path, format!("images of size {}x{}", a.dims[1], a.dims[2])));
    }
    Ok(a)
}

/// Reads an IDX label file (`[n]` of u8), gzipped or not.
pub fn read_labels(path: &Path) -> Result<IdxArray> {
    parse_idx_u8(&read_maybe_gz(path)?, LABELS_MAGIC, path)
}

/// Encodes images `[n, rows, cols]` as IDX bytes (not gzipped).
pub fn encode_images(n: usize, rows: usize, cols: usize, pixels: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + pixels.len());
    for v in [IMAGES_MAGIC, n as u32, rows as u32, cols as u32] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    out.extend_from_slice(pixels);
    out
}

/// Encodes labels `[n]` as IDX bytes (not gzipped).
pub fn encode_labels(labels: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + labels.len());
    out.extend_from_slice(&LABELS_MAGIC.to_be_bytes());
    out.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    out.extend_from_slice(labels);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("test.idx")
    }

    #[test]
    fn round_trip() {
        let px: Vec<u8> = (0..2 * 3 * 4).map(|i| i as u8).collect();
        let a = parse_idx_u8(&encode_images(2, 3, 4, &px), IMAGES_MAGIC, p()).unwrap();
        assert_eq!(a.dims, vec![2, 3, 4]);
        assert_eq!(a.data, px);
        let l = parse_idx_u8(&encode_labels(&[7, 1, 9]), LABELS_MAGIC, p()).unwrap();
        assert_eq!(l.dims, vec![3]);
        assert_eq!(l.data, vec![7, 1, 9]);
    }

    #[test]
    fn wrong_magic_truncated_and_trailing_are_errors() {
        let px = vec![0u8; 2 * 2 * 2];
        let good = encode_images(2, 2, 2, &px);
        let e = parse_idx_u8(&good, LABELS_MAGIC, p()).unwrap_err().to_string();
        assert!(e.contains("magic number 0x00000803") && e.contains("test.idx"), "{e}");
        let e = parse_idx_u8(&good[..good.len() - 1], IMAGES_MAGIC, p()).unwrap_err().to_string();
        assert!(e.contains("truncated"), "{e}");
        let mut long = good.clone();
        long.push(0);
        let e = parse_idx_u8(&long, IMAGES_MAGIC, p()).unwrap_err().to_string();
        assert!(e.contains("trailing"), "{e}");
        let e = parse_idx_u8(&good[..6], IMAGES_MAGIC, p()).unwrap_err().to_string();
        assert!(e.contains("truncated header"), "{e}");
        let e = parse_idx_u8(&[1, 2], IMAGES_MAGIC, p()).unwrap_err().to_string();
        assert!(e.contains("too short"), "{e}");
    }

    #[test]
    fn corrupt_gzip_is_an_error_naming_the_file() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x-labels-idx1-ubyte.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&encode_labels(&[1, 2, 3, 4, 5, 6, 7, 8])).unwrap();
        let gz = enc.finish().unwrap();
        std::fs::write(&path, &gz).unwrap();
        assert_eq!(read_labels(&path).unwrap().data.len(), 8);
        std::fs::write(&path, &gz[..gz.len() - 10]).unwrap();
        let e = read_labels(&path).unwrap_err().to_string();
        assert!(e.contains("x-labels-idx1-ubyte.gz") && e.contains("gzip"), "{e}");
        let e = read_labels(&dir.path().join("missing")).unwrap_err().to_string();
        assert!(e.contains("missing"), "{e}");
    }
}
