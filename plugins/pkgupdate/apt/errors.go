package apt

import "errors"

// ErrMalformed is returned when an Inst or Remv line of apt-get's output
// does not have the expected shape, which most likely means apt-get's
// output format changed; the scan fails rather than silently missing
// updates.
var ErrMalformed = errors.New("malformed apt-get line")
