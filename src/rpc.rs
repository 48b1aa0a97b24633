//! How the pages' server functions send their answers and errors: JSON, as
//! server_fn's own `Json`, but read in the browser from text (`serde_json::from_str`),
//! the reader the resources' hydration data is read with. server_fn's codec reads
//! bytes (`from_slice`), which put a second copy of the whole JSON parser, one per
//! reader, into the code every visitor downloads first.

use serde::{de::DeserializeOwned, Serialize};
use server_fn::codec::Post;
use server_fn::{Bytes, ContentType, Decodes, Encodes, Format, FormatType};

/// The output encoding of every `#[server]` function (`output = crate::rpc::JsonText`).
pub(crate) type JsonText = Post<JsonTextEncoding>;

pub(crate) struct JsonTextEncoding;

impl ContentType for JsonTextEncoding {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl FormatType for JsonTextEncoding {
    const FORMAT_TYPE: Format = Format::Text;
}

impl<T: Serialize> Encodes<T> for JsonTextEncoding {
    type Error = serde_json::Error;

    fn encode(value: &T) -> Result<Bytes, Self::Error> {
        serde_json::to_vec(value).map(Bytes::from)
    }
}

impl<T: DeserializeOwned> Decodes<T> for JsonTextEncoding {
    type Error = serde_json::Error;

    fn decode(bytes: Bytes) -> Result<T, Self::Error> {
        let text = std::str::from_utf8(&bytes).map_err(serde::de::Error::custom)?;
        serde_json::from_str(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::PageError;

    #[test]
    fn answers_are_the_same_json_as_server_fns_own_codec() {
        let error = PageError {
            code: "invalid_instance_name".into(),
            message: "Instance name must not contain \"control\" characters.".into(),
        };
        let ours = <JsonTextEncoding as Encodes<PageError>>::encode(&error).unwrap();
        let theirs =
            <server_fn::codec::JsonEncoding as Encodes<PageError>>::encode(&error).unwrap();
        assert_eq!(ours, theirs);
        let back: PageError = JsonTextEncoding::decode(ours).unwrap();
        assert_eq!(back, error);
    }

    #[test]
    fn text_that_is_not_json_or_not_utf8_is_an_error_not_a_panic() {
        let not_json = <JsonTextEncoding as Decodes<PageError>>::decode(Bytes::from_static(b"{"));
        assert!(not_json.is_err());
        let not_utf8 =
            <JsonTextEncoding as Decodes<PageError>>::decode(Bytes::from_static(b"\"\xff\""));
        assert!(not_utf8.is_err());
    }
}
