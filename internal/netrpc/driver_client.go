package netrpc

import (
	"database/sql/driver"
	"encoding/gob"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/mattermost/mattermost/server/public/plugin"
)

func init() {
	// Row values cross as []driver.Value (an interface slice); gob decodes a concrete type
	// inside an interface only when it is registered. The stock server does not register
	// time.Time (Mattermost's schema stores times as int64 milliseconds), so a server that
	// does send one could otherwise not be read. Registering it costs nothing.
	gob.Register(time.Time{})
}

// driverClient implements plugin.Driver over the driver stream the server serves at
// OnActivate, with the protocol of Mattermost's dbRPCClient (server/public/plugin/db_rpc.go):
// Plugin.<Method> calls whose arguments are the bare value or a Z_Db* struct. It is
// hand-written, as Mattermost's is: the 20 methods share a handful of argument shapes that
// the plugin package names by shape, not by method.
//
// Errors come back with their sentinels (sql.ErrNoRows, driver.ErrBadConn, io.EOF at the end
// of rows, …) restored. A failed call is returned as an error where the method has one (never
// as a silent success, as in Mattermost's client) and logged otherwise.
type driverClient struct {
	client *backchannel
	log    hclog.Logger
}

var _ plugin.Driver = (*driverClient)(nil)

// call performs one RPC and turns a transport failure into an error naming the method.
func (d *driverClient) call(method string, args, reply any) error {
	if err := d.client.Call("Plugin."+method, args, reply); err != nil {
		return fmt.Errorf("netrpc: the call to the Mattermost server database driver %s failed: %w", method, err)
	}
	return nil
}

// callLogged is call for methods without an error result.
func (d *driverClient) callLogged(method string, args, reply any) {
	if err := d.call(method, args, reply); err != nil {
		d.log.Error("database driver call failed", "method", method, "error", err)
	}
}

func (d *driverClient) strErr(method string, args any) (string, error) {
	ret := &plugin.Z_DbStrErrReturn{}
	if err := d.call(method, args, ret); err != nil {
		return "", err
	}
	return ret.A, decodeError(ret.B)
}

func (d *driverClient) errOnly(method string, args any) error {
	ret := &plugin.Z_DbErrReturn{}
	if err := d.call(method, args, ret); err != nil {
		return err
	}
	return decodeError(ret.A)
}

func (d *driverClient) result(method string, args any) (plugin.ResultContainer, error) {
	ret := &plugin.Z_DbResultContErrReturn{}
	if err := d.call(method, args, ret); err != nil {
		return plugin.ResultContainer{}, err
	}
	ret.A.LastIDError = decodeError(ret.A.LastIDError)
	ret.A.RowsAffectedError = decodeError(ret.A.RowsAffectedError)
	return ret.A, decodeError(ret.B)
}

func (d *driverClient) Conn(isMaster bool) (string, error) {
	return d.strErr("Conn", isMaster)
}

func (d *driverClient) ConnPing(connID string) error {
	return d.errOnly("ConnPing", connID)
}

func (d *driverClient) ConnClose(connID string) error {
	return d.errOnly("ConnClose", connID)
}

func (d *driverClient) ConnQuery(connID, q string, args []driver.NamedValue) (string, error) {
	return d.strErr("ConnQuery", &plugin.Z_DbConnArgs{A: connID, B: q, C: args})
}

func (d *driverClient) ConnExec(connID, q string, args []driver.NamedValue) (plugin.ResultContainer, error) {
	return d.result("ConnExec", &plugin.Z_DbConnArgs{A: connID, B: q, C: args})
}

func (d *driverClient) Tx(connID string, opts driver.TxOptions) (string, error) {
	return d.strErr("Tx", &plugin.Z_DbTxArgs{A: connID, B: opts})
}

func (d *driverClient) TxCommit(txID string) error {
	return d.errOnly("TxCommit", txID)
}

func (d *driverClient) TxRollback(txID string) error {
	return d.errOnly("TxRollback", txID)
}

func (d *driverClient) Stmt(connID, q string) (string, error) {
	return d.strErr("Stmt", &plugin.Z_DbStmtArgs{A: connID, B: q})
}

func (d *driverClient) StmtClose(stID string) error {
	return d.errOnly("StmtClose", stID)
}

func (d *driverClient) StmtNumInput(stID string) int {
	ret := &plugin.Z_DbIntReturn{}
	d.callLogged("StmtNumInput", stID, ret)
	return ret.A
}

func (d *driverClient) StmtQuery(stID string, args []driver.NamedValue) (string, error) {
	return d.strErr("StmtQuery", &plugin.Z_DbStmtQueryArgs{A: stID, B: args})
}

func (d *driverClient) StmtExec(stID string, args []driver.NamedValue) (plugin.ResultContainer, error) {
	return d.result("StmtExec", &plugin.Z_DbStmtQueryArgs{A: stID, B: args})
}

func (d *driverClient) RowsColumns(rowsID string) []string {
	ret := &plugin.Z_DbStrSliceReturn{}
	d.callLogged("RowsColumns", rowsID, ret)
	return ret.A
}

func (d *driverClient) RowsClose(rowsID string) error {
	return d.errOnly("RowsClose", rowsID)
}

// RowsNext sends dest (its length tells the server how many columns to fill) and copies the
// values the server returns back into it: net/rpc has no out-parameters.
func (d *driverClient) RowsNext(rowsID string, dest []driver.Value) error {
	ret := &plugin.Z_DbRowScanReturn{}
	if err := d.call("RowsNext", &plugin.Z_DbRowScanArg{A: rowsID, B: dest}, ret); err != nil {
		return err
	}
	copy(dest, ret.B)
	return decodeError(ret.A)
}

func (d *driverClient) RowsHasNextResultSet(rowsID string) bool {
	ret := &plugin.Z_DbBoolReturn{}
	d.callLogged("RowsHasNextResultSet", rowsID, ret)
	return ret.A
}

func (d *driverClient) RowsNextResultSet(rowsID string) error {
	return d.errOnly("RowsNextResultSet", rowsID)
}

func (d *driverClient) RowsColumnTypeDatabaseTypeName(rowsID string, index int) string {
	var ret string
	d.callLogged("RowsColumnTypeDatabaseTypeName", &plugin.Z_DbRowsColumnArg{A: rowsID, B: index}, &ret)
	return ret
}

func (d *driverClient) RowsColumnTypePrecisionScale(rowsID string, index int) (int64, int64, bool) {
	ret := &plugin.Z_DbRowsColumnTypePrecisionScaleReturn{}
	d.callLogged("RowsColumnTypePrecisionScale", &plugin.Z_DbRowsColumnArg{A: rowsID, B: index}, ret)
	return ret.A, ret.B, ret.C
}
