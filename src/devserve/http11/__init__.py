"""The socket-free HTTP/1.1 layer: request heads, body framing, response serialisation.

Nothing in this package reads or writes a socket, starts a thread, touches the file
system or logs: it turns bytes into values and values into bytes, and reports every
fault as a :class:`~devserve.http11.errors.ProtocolError` carrying the status to send.
"""

from .errors import (
    BadFraming,
    BadHeader,
    BadRequestLine,
    BodyTooLarge,
    HeaderFieldsTooLarge,
    IncompleteMessage,
    ProtocolError,
    UnsupportedHTTPVersion,
    UnsupportedTransferCoding,
    URITooLong,
)
from .fields import line_content, parse_fields, read_field_lines
from .framing import (
    ChunkedReader,
    ChunkedWriter,
    LengthReader,
    content_length_value,
    keep_alive,
    transfer_coding_is_chunked,
)
from .head import RequestHead, RequestLine, parse_head, parse_request_head, parse_request_line
from .limits import DEFAULT_LIMITS, Limits
from .response import body_allowed, check_field, field_line, http_date, status_line

__all__ = [
    "DEFAULT_LIMITS",
    "BadFraming",
    "BadHeader",
    "BadRequestLine",
    "BodyTooLarge",
    "ChunkedReader",
    "ChunkedWriter",
    "HeaderFieldsTooLarge",
    "IncompleteMessage",
    "LengthReader",
    "Limits",
    "ProtocolError",
    "RequestHead",
    "RequestLine",
    "URITooLong",
    "UnsupportedHTTPVersion",
    "UnsupportedTransferCoding",
    "body_allowed",
    "check_field",
    "content_length_value",
    "field_line",
    "http_date",
    "keep_alive",
    "line_content",
    "parse_fields",
    "parse_head",
    "parse_request_head",
    "parse_request_line",
    "read_field_lines",
    "status_line",
    "transfer_coding_is_chunked",
]
