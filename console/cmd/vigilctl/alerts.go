package main

func ruleList(e *env, args []string) error { return errNotYet }

func ruleShow(e *env, args []string) error { return errNotYet }

func ruleCreate(e *env, args []string) error { return errNotYet }

func ruleUpdate(e *env, args []string) error { return errNotYet }

func ruleEnable(e *env, args []string) error { return errNotYet }

func ruleDisable(e *env, args []string) error { return errNotYet }

func ruleDelete(e *env, args []string) error { return errNotYet }

func alertList(e *env, args []string) error { return errNotYet }

func alertShow(e *env, args []string) error { return errNotYet }

func alertAck(e *env, args []string) error { return errNotYet }

func maintenanceStart(e *env, args []string) error { return errNotYet }

func maintenanceStop(e *env, args []string) error { return errNotYet }

func maintenanceList(e *env, args []string) error { return errNotYet }
