package main

func checkCreate(e *env, args []string) error { return errNotYet }

func checkList(e *env, args []string) error { return errNotYet }

func checkShow(e *env, args []string) error { return errNotYet }

func checkUpdate(e *env, args []string) error { return errNotYet }

func checkDelete(e *env, args []string) error { return errNotYet }

func checkHistory(e *env, args []string) error { return errNotYet }

func checkResume(e *env, args []string) error { return errNotYet }

func checkPause(e *env, args []string) error { return errNotYet }
