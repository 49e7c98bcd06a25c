from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status

from app.auth import service
from app.auth.deps import COOKIE, CurrentUser, require_roles
from app.auth.models import Role, User
from app.auth.schemas import LoginIn, LoginOut, UserCreate, UserOut
from app.deps import SessionDep

router = APIRouter(prefix="/api/auth", tags=["auth"])


@router.post("/login", response_model=LoginOut)
async def login(data: LoginIn, request: Request, response: Response, session: SessionDep) -> LoginOut:
    user = await service.authenticate(session, data.username, data.password)
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password")
    token = request.app.state.runtime.signer.issue(user)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", max_age=12 * 3600)
    return LoginOut(token=token, user=UserOut.model_validate(user))


@router.post("/logout", status_code=204)
async def logout(response: Response) -> None:
    response.delete_cookie(COOKIE)


@router.get("/me", response_model=UserOut)
async def me(user: CurrentUser) -> User:
    return user


@router.post("/users", response_model=UserOut, status_code=201)
async def create_user(
    data: UserCreate, session: SessionDep, _: Annotated[User, Depends(require_roles(Role.admin))]
) -> User:
    try:
        user = await service.create_user(session, data)
    except service.AuthError as e:
        raise HTTPException(status.HTTP_409_CONFLICT, str(e)) from e
    await session.commit()
    return user
