package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/xpflow/xpflow/internal/clock"
	"github.com/xpflow/xpflow/internal/state"
)

// EnvConn overrides the conn_str of a spec's backend "postgres" block.
const EnvConn = "XPFLOW_BACKEND_CONN"

// opTimeout bounds one database operation, so a server that stops
// answering fails the apply with an error instead of hanging it.
const opTimeout = 30 * time.Second

// Store is one campaign in a Postgres database. Its methods are safe for
// concurrent use; every write is one committed transaction.
type Store struct {
	pool     *pgxpool.Pool
	campaign string
	runner   string
	red      redactor
	clock    clock.Clock
	lineage  string // the campaign's, fixed at creation
	where    string // "postgres database D on H, campaign C", no secret

	// lockConn holds the campaign's session advisory lock between Lock and
	// Unlock; nil otherwise. Lock and Unlock are called by one goroutine.
	lockConn *pgxpool.Conn

	mu sync.Mutex
	// known is the serial of the last Load: rows at or below it are what
	// this runner's state.Store started from. Guarded by mu.
	known uint64
	// mine holds the serials of this store's own Puts. Guarded by mu.
	mine map[uint64]bool
}

// Options are the optional settings of Open.
type Options struct {
	// Clock times the waits between reconnection attempts; default real.
	Clock clock.Clock
	// Runner names this process in claims and in the journal; default
	// host:pid:random. Two live runners must never share a name.
	Runner string
}

// Open connects to the database named by conn, migrates its schema and
// returns the campaign named campaign, creating it (empty, with a fresh
// lineage) when it does not exist. Errors never hold conn's password.
func Open(ctx context.Context, conn, campaign string, opt Options) (*Store, error) {
	if err := CheckCampaign(campaign); err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(conn)
	if err != nil {
		// pgx's message may quote the string; say only what is wrong.
		return nil, fmt.Errorf("postgres backend: invalid connection string: %w",
			newRedactor(conn, "").err(err))
	}
	red := newRedactor(conn, cfg.ConnConfig.Password)
	cfg.MaxConns = 8
	if opt.Clock == nil {
		opt.Clock = clock.Real()
	}
	s := &Store{campaign: campaign, runner: opt.Runner, red: red, clock: opt.Clock,
		where: fmt.Sprintf("postgres database %q on %s, campaign %q", cfg.ConnConfig.Database, cfg.ConnConfig.Host, campaign)}
	if s.runner == "" {
		// Host and pid, and a random part: two containers may share both.
		host, _ := os.Hostname()
		var b [3]byte
		_, _ = rand.Read(b[:])
		s.runner = fmt.Sprintf("%s:%d:%x", host, os.Getpid(), b)
	}
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	s.pool, err = pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, s.fail("connecting", err)
	}
	// The pool connects lazily: without a ping a refused password would
	// first show as a failure to migrate the schema.
	if err := s.pool.Ping(ctx); err != nil {
		s.pool.Close()
		return nil, s.fail("connecting", err)
	}
	if err := Migrate(ctx, s.pool); err != nil {
		s.pool.Close()
		return nil, s.fail("migrating the schema", err)
	}
	if err := s.ensureCampaign(ctx); err != nil {
		s.pool.Close()
		return nil, err
	}
	return s, nil
}

// CheckCampaign reports whether name can name a campaign: 1 to 200
// printable characters.
func CheckCampaign(name string) error {
	if name == "" || len(name) > 200 || strings.IndexFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return fmt.Errorf("postgres backend: campaign name %q must be 1 to 200 printable characters", name)
	}
	return nil
}

// fail wraps err as the failure of what, naming the database and campaign
// but never the connection string's secrets.
func (s *Store) fail(what string, err error) error {
	return fmt.Errorf("%s: %s: %w", s.where, what, s.red.err(err))
}

// String describes the store for messages: database, host and campaign.
func (s *Store) String() string { return s.where }

// Campaign returns the campaign's name.
func (s *Store) Campaign() string { return s.campaign }

// Runner returns the name this store writes in claims and the journal.
func (s *Store) Runner() string { return s.runner }

// Pool returns the connection pool, for the window ledger and claims.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

func (s *Store) ensureCampaign(ctx context.Context) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO xpflow_campaigns (name, lineage) VALUES ($1, $2)
		ON CONFLICT (name) DO NOTHING`, s.campaign, state.New().Lineage)
	if err != nil {
		return s.fail("creating the campaign", err)
	}
	if err := s.pool.QueryRow(ctx, "SELECT lineage FROM xpflow_campaigns WHERE name = $1", s.campaign).Scan(&s.lineage); err != nil {
		return s.fail("reading the campaign", err)
	}
	return nil
}

// Close releases the lock, if held, and the connections.
func (s *Store) Close() error {
	err := s.Unlock()
	s.pool.Close()
	return err
}

// Snapshot returns the campaign's state as one consistent snapshot: the
// campaign row and every recorded asset, read in one repeatable-read
// transaction, so runners writing meanwhile are seen entirely or not at
// all. Planned assets nobody has started are not part of the state.
func (s *Store) Snapshot(ctx context.Context) (*state.State, error) {
	var st *state.State
	err := s.retry(ctx, func(ctx context.Context) error {
		return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
			var err error
			st, err = s.readState(ctx, tx)
			return err
		})
	})
	if err != nil {
		return nil, s.fail("reading the state", err)
	}
	return st, nil
}

// readState reads the campaign inside tx and decodes it with the file
// state's strict decoder, so both backends accept exactly the same states.
func (s *Store) readState(ctx context.Context, tx pgx.Tx) (*state.State, error) {
	doc := struct {
		Version int                        `json:"version"`
		Serial  uint64                     `json:"serial"`
		Lineage string                     `json:"lineage"`
		Assets  map[string]json.RawMessage `json:"assets"`
		Models  json.RawMessage            `json:"models,omitempty"`
		Balance json.RawMessage            `json:"balance,omitempty"`
	}{Version: state.Version, Assets: map[string]json.RawMessage{}}
	var models, balance []byte
	err := tx.QueryRow(ctx, "SELECT lineage, serial, models::text, balance::text FROM xpflow_campaigns WHERE name = $1",
		s.campaign).Scan(&doc.Lineage, &doc.Serial, &models, &balance)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("campaign %q does not exist (deleted meanwhile?)", s.campaign)
	}
	if err != nil {
		return nil, err
	}
	doc.Models, doc.Balance = models, balance
	rows, err := tx.Query(ctx, "SELECT address, record::text FROM xpflow_assets WHERE campaign = $1 AND record IS NOT NULL", s.campaign)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var addr string
		var rec []byte
		if err := rows.Scan(&addr, &rec); err != nil {
			return nil, err
		}
		doc.Assets[addr] = rec
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	data, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	st, err := state.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("the stored state does not read back: %w", err)
	}
	return st, nil
}

// Change is one change to the campaign: the assets put (each replaces the
// record of its address), the addresses removed, the model statistics
// that changed (each replaces its model's entry) and the new balance.
type Change struct {
	Assets  map[string]*state.Asset
	Removed []string
	Models  map[string]*state.ModelStats
	Balance *state.Balance
	// Fenced commits the change only if this runner holds a live claim
	// (claimed_by is its name, lease_expires is ahead of the database's
	// clock) on every asset put; otherwise Put returns a *ClaimLostError
	// and commits nothing. The check and the write are one transaction,
	// under the rows' locks, so no takeover can slip in between.
	Fenced bool
}

// ClaimLostError is the refusal of a fenced Put: this runner no longer
// holds a live claim on Address. It wraps state.ErrClaimLost.
type ClaimLostError struct {
	Address string
	Holder  string // the runner holding the claim now; "" when none
	Runner  string // this runner
}

func (e *ClaimLostError) Error() string {
	switch e.Holder {
	case "":
		return fmt.Sprintf("%s: runner %s no longer holds its claim (its lease lapsed): %s", e.Address, e.Runner, state.ErrClaimLost)
	case e.Runner:
		return fmt.Sprintf("%s: the lease of runner %s on it lapsed: %s", e.Address, e.Runner, state.ErrClaimLost)
	}
	return fmt.Sprintf("%s: runner %s took it over from runner %s: %s", e.Address, e.Holder, e.Runner, state.ErrClaimLost)
}

// ClaimHolder returns the runner holding the claim now ("" when none).
func (e *ClaimLostError) ClaimHolder() string {
	if e.Holder == e.Runner {
		return ""
	}
	return e.Holder
}

// Unwrap returns state.ErrClaimLost.
func (e *ClaimLostError) Unwrap() error { return state.ErrClaimLost }

// Put commits ch in one transaction and returns the campaign's new serial.
// Each asset whose status or task id changes gets a journal row naming
// this runner, the event, the task id and the cost: the journal only
// grows. A Put that commits is durable before Put returns, so an intent
// put before a POST is on the server before the POST is sent.
func (s *Store) Put(ctx context.Context, ch Change) (uint64, error) {
	for addr, a := range ch.Assets {
		if a == nil || a.Address != addr || !a.Status.Valid() {
			return 0, fmt.Errorf("%s: putting %s: an asset record must be non-null, under its own address, with a known status", s.where, addr)
		}
	}
	var serial uint64
	err := s.retry(ctx, func(ctx context.Context) error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			var err error
			serial, err = s.put(ctx, tx, ch)
			return err
		})
	})
	if err != nil {
		return 0, s.fail("writing the state", err)
	}
	s.mu.Lock()
	if s.mine == nil {
		s.mine = map[uint64]bool{}
	}
	s.mine[serial] = true
	s.mu.Unlock()
	return serial, nil
}

func (s *Store) put(ctx context.Context, tx pgx.Tx, ch Change) (uint64, error) {
	var serial uint64
	if err := tx.QueryRow(ctx, "UPDATE xpflow_campaigns SET serial = serial + 1, updated_at = now() WHERE name = $1 RETURNING serial",
		s.campaign).Scan(&serial); err != nil {
		return 0, err
	}
	addrs := make([]string, 0, len(ch.Assets))
	for addr := range ch.Assets {
		addrs = append(addrs, addr)
	}
	sort.Strings(addrs) // a fixed order: no deadlock between two runners' puts
	for _, addr := range addrs {
		a := ch.Assets[addr]
		rec, err := json.Marshal(a)
		if err != nil {
			return 0, fmt.Errorf("encoding %s: %w", addr, err)
		}
		var prevStatus, prevTask, holder *string
		var live bool
		err = tx.QueryRow(ctx, `SELECT status, record->>'task_id', claimed_by, coalesce(lease_expires > now(), false)
			FROM xpflow_assets WHERE campaign = $1 AND address = $2 FOR UPDATE`, s.campaign, addr).Scan(&prevStatus, &prevTask, &holder, &live)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return 0, err
		}
		if ch.Fenced && (holder == nil || *holder != s.runner || !live) {
			e := &ClaimLostError{Address: addr, Runner: s.runner}
			if holder != nil {
				e.Holder = *holder
			}
			return 0, e
		}
		if _, err := tx.Exec(ctx, `INSERT INTO xpflow_assets (campaign, address, record, status, serial, updated_at)
			VALUES ($1, $2, $3::json, $4, $5, now())
			ON CONFLICT (campaign, address) DO UPDATE SET record = excluded.record, status = excluded.status,
				serial = excluded.serial, updated_at = now()`,
			s.campaign, addr, string(rec), string(a.Status), serial); err != nil {
			return 0, err
		}
		if prevStatus != nil && *prevStatus == string(a.Status) && prevTask != nil && *prevTask == a.TaskID {
			continue // same outcome rewritten (a download, statistics): no journal row
		}
		if prevStatus != nil && *prevStatus == string(a.Status) && prevTask == nil && a.TaskID == "" {
			continue
		}
		if err := s.journal(ctx, tx, addr, string(a.Status), a.TaskID, a.CostCents, serial); err != nil {
			return 0, err
		}
	}
	for _, addr := range ch.Removed {
		tag, err := tx.Exec(ctx, "DELETE FROM xpflow_assets WHERE campaign = $1 AND address = $2", s.campaign, addr)
		if err != nil {
			return 0, err
		}
		if tag.RowsAffected() > 0 {
			if err := s.journal(ctx, tx, addr, "removed", "", nil, serial); err != nil {
				return 0, err
			}
		}
	}
	if len(ch.Models) > 0 {
		m, err := json.Marshal(ch.Models)
		if err != nil {
			return 0, err
		}
		if _, err := tx.Exec(ctx, `UPDATE xpflow_campaigns SET models = (coalesce(models::jsonb, '{}'::jsonb) || $2::jsonb)::json
			WHERE name = $1`, s.campaign, string(m)); err != nil {
			return 0, err
		}
	}
	if ch.Balance != nil {
		b, err := json.Marshal(ch.Balance)
		if err != nil {
			return 0, err
		}
		if _, err := tx.Exec(ctx, "UPDATE xpflow_campaigns SET balance = $2::json WHERE name = $1", s.campaign, string(b)); err != nil {
			return 0, err
		}
	}
	return serial, nil
}

func jsonOf(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

func (s *Store) journal(ctx context.Context, tx pgx.Tx, addr, event, taskID string, cents *int, serial uint64) error {
	var task *string
	if taskID != "" {
		task = &taskID
	}
	_, err := tx.Exec(ctx, `INSERT INTO xpflow_journal (campaign, address, event, runner, task_id, cost_cents, serial)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, s.campaign, addr, event, s.runner, task, cents, serial)
	return err
}

// Entry is one row of the journal.
type Entry struct {
	Address   string
	Event     string // intent, submitted, completed, failed or removed
	Runner    string
	At        time.Time
	TaskID    string
	CostCents *int
	Serial    uint64
}

// Journal returns the campaign's journal, oldest first.
func (s *Store) Journal(ctx context.Context) ([]Entry, error) {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT address, event, runner, at, coalesce(task_id, ''), cost_cents, serial
		FROM xpflow_journal WHERE campaign = $1 ORDER BY id`, s.campaign)
	if err != nil {
		return nil, s.fail("reading the journal", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Entry, error) {
		var e Entry
		err := r.Scan(&e.Address, &e.Event, &e.Runner, &e.At, &e.TaskID, &e.CostCents, &e.Serial)
		return e, err
	})
	if err != nil {
		return nil, s.fail("reading the journal", err)
	}
	return out, nil
}
