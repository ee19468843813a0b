package apt

// InstallArgs returns the apt-get arguments that upgrade pkgs, and only
// those already installed, without questions: existing configuration files
// are kept unless the package's default says otherwise
// (--force-confdef, --force-confold). Run them with LC_ALL=C and
// DEBIAN_FRONTEND=noninteractive.
func InstallArgs(opts Options, pkgs []string) []string {
	args := append(opts.args(),
		"-y", "-q",
		"-o", "Dpkg::Options::=--force-confdef",
		"-o", "Dpkg::Options::=--force-confold",
		"install", "--only-upgrade")
	return append(args, pkgs...)
}
