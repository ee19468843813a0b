package main

func contactCreate(e *env, args []string) error { return errNotYet }

func contactList(e *env, args []string) error { return errNotYet }

func contactShow(e *env, args []string) error { return errNotYet }

func contactUpdate(e *env, args []string) error { return errNotYet }

func contactDelete(e *env, args []string) error { return errNotYet }

func contactTest(e *env, args []string) error { return errNotYet }

func smsCredits(e *env, args []string) error { return errNotYet }

func notificationsList(e *env, args []string) error { return errNotYet }

func notificationsShow(e *env, args []string) error { return errNotYet }
