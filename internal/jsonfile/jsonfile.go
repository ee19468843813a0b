// Package jsonfile reads the JSON configuration files of vigil's binaries
// strictly: an unknown key is an error naming the file, so a typo in a
// setting is reported instead of silently ignored.
package jsonfile

import (
	"encoding/json"
	"fmt"
	"os"
)

// Decode overlays the JSON object in path onto v. A missing file returns
// an error wrapping os.ErrNotExist; callers for whom the file is optional
// check for it with errors.Is.
func Decode(path string, v any) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	return nil
}
