// An independent check of riskreg's signed checkpoints and Merkle proofs, with Go's own
// golang.org/x/mod/sumdb/note (signed notes, Ed25519 verifier keys) and sumdb/tlog (RFC 6962 trees
// and proofs). riskreg wrote none of this code's verification logic; the test compiles and runs it.
//
//	go_verifier checkpoint KEY CHECKPOINT_FILE EXPORT.jsonl  the export's tree has the checkpoint's root
//	go_verifier inclusion KEY PROOF_FILE                     the proof's event is in its checkpoint
//	go_verifier consistency KEY PROOF_FILE KEPT_FILE         the later checkpoint extends the kept one
//
// Prints OK and exits 0, or prints the failure and exits 1.
package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type checkpoint struct {
	origin string
	size   int64
	root   tlog.Hash
}

// open checks a signed note against the verifier key and parses the C2SP tlog-checkpoint body.
func open(key, signed string) (checkpoint, error) {
	verifier, err := note.NewVerifier(key)
	if err != nil {
		return checkpoint{}, fmt.Errorf("verifier key: %v", err)
	}
	n, err := note.Open([]byte(signed), note.VerifierList(verifier))
	if err != nil {
		return checkpoint{}, fmt.Errorf("signed note: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[len(lines)-1] != "" {
		return checkpoint{}, errors.New("checkpoint: not origin, size, root lines")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 {
		return checkpoint{}, errors.New("checkpoint: bad tree size")
	}
	root, err := tlog.ParseHash(lines[2])
	if err != nil {
		return checkpoint{}, fmt.Errorf("checkpoint: root hash: %v", err)
	}
	return checkpoint{lines[0], size, root}, nil
}

// proofFile splits a proof file: header fields, base64 hashes, then the signed notes it carries.
func proofFile(path, kind string) (map[string]string, []tlog.Hash, []string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, nil, err
	}
	parts := strings.Split(string(data), "\n\n")
	if len(parts) < 3 || len(parts)%2 == 0 {
		return nil, nil, nil, errors.New("not a proof file")
	}
	lines := strings.Split(parts[0], "\n")
	if lines[0] != "riskreg "+kind+" proof" {
		return nil, nil, nil, errors.New("not a " + kind + " proof")
	}
	fields := map[string]string{}
	var hashes []tlog.Hash
	for _, line := range lines[1:] {
		if k, v, found := strings.Cut(line, " "); found {
			fields[k] = v
			continue
		}
		h, err := tlog.ParseHash(line)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("proof hash: %v", err)
		}
		hashes = append(hashes, h)
	}
	var notes []string
	for i := 1; i < len(parts); i += 2 {
		notes = append(notes, parts[i]+"\n\n"+strings.TrimRight(parts[i+1], "\n")+"\n")
	}
	return fields, hashes, notes, nil
}

func number(fields map[string]string, name string) (int64, error) {
	n, err := strconv.ParseInt(fields[name], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("proof field %s: %v", name, err)
	}
	return n, nil
}

func run(args []string) error {
	if len(args) < 3 {
		return errors.New("usage: go_verifier checkpoint|inclusion|consistency KEY FILE [EXPORT]")
	}
	key := strings.TrimSpace(args[1])
	switch args[0] {
	case "checkpoint":
		data, err := os.ReadFile(args[2])
		if err != nil {
			return err
		}
		cp, err := open(key, string(data))
		if err != nil || len(args) < 4 {
			return err
		}
		// Rebuild the tree from the export's event hashes with tlog's own storage layout.
		var stored []tlog.Hash
		reader := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
			out := make([]tlog.Hash, len(indexes))
			for i, index := range indexes {
				out[i] = stored[index]
			}
			return out, nil
		})
		export, err := os.Open(args[3])
		if err != nil {
			return err
		}
		defer export.Close()
		scanner := bufio.NewScanner(export)
		scanner.Buffer(make([]byte, 1<<20), 64<<20)
		var n int64
		for n < cp.size && scanner.Scan() {
			var event struct {
				Seq  int64  `json:"seq"`
				Hash string `json:"hash"`
			}
			if err := json.Unmarshal(scanner.Bytes(), &event); err != nil {
				return fmt.Errorf("export line %d: %v", n+1, err)
			}
			leaf, err := hex.DecodeString(event.Hash)
			if err != nil || event.Seq != n+1 {
				return fmt.Errorf("export line %d: bad event", n+1)
			}
			hashes, err := tlog.StoredHashes(n, leaf, reader)
			if err != nil {
				return err
			}
			stored = append(stored, hashes...)
			n++
		}
		if n < cp.size {
			return fmt.Errorf("the export holds %d events, the checkpoint %d", n, cp.size)
		}
		root, err := tlog.TreeHash(cp.size, reader)
		if err != nil {
			return err
		}
		if root != cp.root {
			return errors.New("the export's tree does not have the checkpoint's root")
		}
		return nil
	case "inclusion":
		fields, proof, notes, err := proofFile(args[2], "inclusion")
		if err != nil {
			return err
		}
		cp, err := open(key, notes[0])
		if err != nil {
			return err
		}
		index, err := number(fields, "index")
		if err != nil {
			return err
		}
		leaf, err := hex.DecodeString(fields["hash"])
		if err != nil {
			return err
		}
		return tlog.CheckRecord(tlog.RecordProof(proof), cp.size, cp.root, index, tlog.RecordHash(leaf))
	case "consistency":
		_, proof, notes, err := proofFile(args[2], "consistency")
		if err != nil {
			return err
		}
		if len(notes) != 2 {
			return errors.New("a consistency proof carries two checkpoints")
		}
		if len(args) < 4 {
			return errors.New("consistency needs the checkpoint the witness kept (KEPT_FILE)")
		}
		keptData, err := os.ReadFile(args[3])
		if err != nil {
			return err
		}
		kept, err := open(key, string(keptData))
		if err != nil {
			return fmt.Errorf("kept checkpoint: %v", err)
		}
		old, err := open(key, notes[0])
		if err != nil {
			return err
		}
		// The proof's own copy of the earlier checkpoint may have been re-signed after a rewrite:
		// only the copy the witness kept says what the tree was.
		if old.origin != kept.origin || old.size != kept.size || old.root != kept.root {
			return errors.New("the proof's earlier checkpoint is not the one the witness kept")
		}
		latest, err := open(key, notes[1])
		if err != nil {
			return err
		}
		return tlog.CheckTree(tlog.TreeProof(proof), latest.size, latest.root, old.size, old.root)
	}
	return errors.New("unknown command " + args[0])
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Println("FAILED:", err)
		os.Exit(1)
	}
	fmt.Println("OK")
}
