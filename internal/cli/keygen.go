package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/changeproof/changeproof/evidence"
)

func (app *App) keygenCmd() *cobra.Command {
	var out, pub string
	cmd := &cobra.Command{
		Use:   "keygen --out FILE",
		Short: "Create an Ed25519 signing key pair",
		Long: `Create an Ed25519 key pair for signing evidence: the private key as PKCS#8
PEM with mode 0600 at --out, the public key as SPKI PEM at --pub (default
FILE.pub). Existing files are never overwritten.

Give the public key to your auditors through a channel they trust; they verify
with it. Its key id (printed) is the sha256 of its DER encoding:
  openssl pkey -pubin -in FILE.pub -outform DER | sha256sum`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return fail(ExitError, fmt.Errorf("--out is required: where to write the private key"))
			}
			if pub == "" {
				pub = out + ".pub"
			}
			id, err := evidence.GenerateKeyFiles(out, pub)
			if err != nil {
				return fail(ExitError, err)
			}
			fmt.Fprintf(app.Stdout, "private key: %s (mode 0600; keep it secret)\npublic key:  %s\nkey id:      %s\n", out, pub, id)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "private key file to create")
	cmd.Flags().StringVar(&pub, "pub", "", "public key file to create (default: --out with .pub appended)")
	return cmd
}
