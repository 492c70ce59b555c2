package api

import (
	"context"
	"encoding/json"

	"github.com/passkeys-b2c/passkeys/internal/passkey"
)

// functions is the route table: one entry per folder under functions/.
func (s *Server) functions() map[string]functionFunc {
	return map[string]functionFunc{
		"register-begin":  s.registerBegin,
		"register-finish": s.registerFinish,
		"login-begin":     s.loginBegin,
		"login-finish":    s.loginFinish,
		"list-devices":    s.listDevices,
		"rename-device":   s.renameDevice,
		"delete-device":   s.deleteDevice,
	}
}

func (s *Server) registerBegin(ctx context.Context, r *request) (response, error) {
	if err := require(claim{"objectId", r.ObjectID}, claim{"userName", r.UserName}); err != nil {
		return nil, err
	}
	res, err := s.service.RegisterBegin(ctx, passkey.RegisterBeginRequest{ObjectID: r.ObjectID, UserName: r.UserName, DisplayName: r.DisplayName,
		Mediation: r.Mediation, Hints: r.Hints.split()})
	if err != nil {
		return nil, err
	}
	out := response{"deviceCount": res.DeviceCount}
	if res.Options != nil { // absent: a conditional begin for a user at the device limit
		out["options"] = string(res.Options)
	}
	return out, nil
}

func (s *Server) registerFinish(ctx context.Context, r *request) (response, error) {
	if err := require(claim{"objectId", r.ObjectID}, claim{"credential", r.Credential}); err != nil {
		return nil, err
	}
	res, err := s.service.RegisterFinish(ctx, passkey.RegisterFinishRequest{ObjectID: r.ObjectID, Credential: r.Credential, DeviceName: r.DeviceName})
	if err != nil {
		return nil, err
	}
	return addSignals(response{
		"credentialId":  res.CredentialID,
		"deviceName":    res.DeviceName,
		"deviceCount":   res.DeviceCount,
		"passkeySynced": res.PasskeySynced,
	}, res.Signals), nil
}

func (s *Server) loginBegin(ctx context.Context, r *request) (response, error) {
	res, err := s.service.LoginBegin(ctx, passkey.LoginBeginRequest{ObjectID: r.ObjectID, Mediation: r.Mediation, Hints: r.Hints.split()})
	if err != nil {
		return nil, err
	}
	out := response{"options": string(res.Options)}
	if res.Named {
		out["deviceCount"] = res.DeviceCount
	}
	return out, nil
}

func (s *Server) loginFinish(ctx context.Context, r *request) (response, error) {
	if err := require(claim{"credential", r.Credential}); err != nil {
		return nil, err
	}
	res, err := s.service.LoginFinish(ctx, passkey.LoginFinishRequest{ObjectID: r.ObjectID, Credential: r.Credential})
	if err != nil {
		return nil, err
	}
	return addSignals(response{
		"objectId":      res.ObjectID,
		"credentialId":  res.CredentialID,
		"deviceName":    res.DeviceName,
		"userVerified":  res.UserVerified,
		"passkeySynced": res.PasskeySynced,
	}, res.Signals), nil
}

func (s *Server) listDevices(ctx context.Context, r *request) (response, error) {
	if err := require(claim{"objectId", r.ObjectID}); err != nil {
		return nil, err
	}
	devices, err := s.service.Devices(ctx, r.ObjectID)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(devices))
	ids := make([]string, len(devices))
	for i, d := range devices {
		names[i] = d.Name
		ids[i] = d.ID
	}
	encoded, err := json.Marshal(devices)
	if err != nil {
		return nil, err
	}
	signals := s.service.UserSignals(r.ObjectID)
	signals.AcceptedCredentialIDs = ids
	return addSignals(response{"deviceCount": len(devices), "deviceNames": names, "devices": string(encoded)}, signals), nil
}

func (s *Server) renameDevice(ctx context.Context, r *request) (response, error) {
	if err := require(claim{"objectId", r.ObjectID}, claim{"credentialId", r.CredentialID}, claim{"deviceName", r.DeviceName}); err != nil {
		return nil, err
	}
	name, err := s.service.RenameDevice(ctx, r.ObjectID, r.CredentialID, r.DeviceName)
	if err != nil {
		return nil, err
	}
	return addSignals(response{"deviceName": name}, s.service.UserSignals(r.ObjectID)), nil
}

func (s *Server) deleteDevice(ctx context.Context, r *request) (response, error) {
	if err := require(claim{"objectId", r.ObjectID}, claim{"credentialId", r.CredentialID}); err != nil {
		return nil, err
	}
	count, err := s.service.DeleteDevice(ctx, r.ObjectID, r.CredentialID)
	if err != nil {
		return nil, err
	}
	signals, err := s.service.AcceptedCredentials(ctx, r.ObjectID)
	if err != nil {
		return nil, err
	}
	return addSignals(response{"deviceCount": count}, signals), nil
}
